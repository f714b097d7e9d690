// Goal: a read-only open that loads only the snapshot entries of the index (what `suede snapshots`
// uses) lists the same snapshots as a full open, loads the rest on first need with the same
// result, and follows commits made meanwhile. Method: a small real vault through the library;
// the raw Vault shows whether the whole index is loaded yet.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault, defaultDeps } from "../src/api/suede-vault.ts";
import { Vault } from "../src/vault/index.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const secret = { passphrase: "index-load" };

async function fixture(): Promise<{ dir: string; source: string; vaultPath: string }> {
  const dir = mkdtempSync(join(tmpdir(), "suede-index-load-"));
  const source = join(dir, "src");
  mkdirSync(join(source, "sub"), { recursive: true });
  const vaultPath = join(dir, "v.vault");
  await SuedeVault.create(vaultPath, { secret, kdf: KDF });
  const writer = await SuedeVault.open(vaultPath, { secret, writable: true });
  try {
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(source, `file-${i}.txt`), `version ${i} `.repeat(5000 + i));
      writeFileSync(join(source, "sub", `n-${i}.bin`), Buffer.alloc(70_000 + i, i + 1));
      await writer.backup({ paths: [source] });
    }
  } finally {
    await writer.close();
  }
  return { dir, source, vaultPath };
}

test("index load 'snapshots': the same snapshots as a full open; other blobs load the whole index on first read", async () => {
  const { dir, vaultPath } = await fixture();
  try {
    const full = await Vault.open(vaultPath, { secret: Buffer.from(secret.passphrase), writable: false, deps: defaultDeps });
    const fullSize = full.blobIndex.size;
    const fullRefs = full.snapshots.map((r) => r.number);
    const fullSnapshotBytes = await Promise.all(full.snapshots.map((r) => full.getBlob(r.id)));
    await full.close();
    const lazy = await Vault.open(vaultPath, { secret: Buffer.from(secret.passphrase), writable: false, deps: defaultDeps, indexLoad: "snapshots" });
    try {
      assert.deepEqual(lazy.snapshots.map((r) => r.number), fullRefs);
      const snapshotBytes = await Promise.all(lazy.snapshots.map((r) => lazy.getBlob(r.id)));
      assert.deepEqual(snapshotBytes.map((b) => Buffer.from(b)), fullSnapshotBytes.map((b) => Buffer.from(b)));
      // Reading snapshot records did not load the rest.
      assert.throws(() => lazy.blobIndex, /not loaded/);
      await lazy.loadIndex();
      assert.equal(lazy.blobIndex.size, fullSize);
    } finally {
      await lazy.close();
    }
    // A writer always loads the whole index.
    await assert.rejects(Vault.open(vaultPath, { secret: Buffer.from(secret.passphrase), writable: true, deps: defaultDeps, indexLoad: "snapshots" }), /whole index/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("index load 'snapshots' through the library: ls, cat, info and restore work, and a refresh sees a later backup", async () => {
  const { dir, source, vaultPath } = await fixture();
  try {
    const reader = await SuedeVault.open(vaultPath, { secret, indexLoad: "snapshots" });
    try {
      assert.deepEqual((await reader.listSnapshots()).map((s) => s.number), [1, 2, 3]);
      const node = await reader.stat(3, join(source, "file-2.txt"));
      const chunks: Uint8Array[] = [];
      for await (const piece of reader.readFile(node)) chunks.push(piece);
      assert.deepEqual(Buffer.concat(chunks), readFileSync(join(source, "file-2.txt")));
      const info = await reader.info();
      assert.equal(info.snapshots, 3);
      assert.ok(info.blobs > 6);
      await reader.restore(3, { target: join(dir, "out") });
      assert.deepEqual(readFileSync(join(dir, "out", source, "sub", "n-2.bin")), readFileSync(join(source, "sub", "n-2.bin")));
    } finally {
      await reader.close();
    }
    // A lazy session that a writer commits under: refresh brings the new snapshot, reads still work.
    const lazy = await SuedeVault.open(vaultPath, { secret, indexLoad: "snapshots" });
    try {
      assert.deepEqual(lazy.snapshotNumbers(), [1, 2, 3]);
      writeFileSync(join(source, "late.txt"), "late ".repeat(9000));
      const writer = await SuedeVault.open(vaultPath, { secret, writable: true });
      await writer.backup({ paths: [source] });
      await writer.close();
      assert.equal(await lazy.refresh(), true);
      assert.deepEqual((await lazy.listSnapshots()).map((s) => s.number), [1, 2, 3, 4]);
      const node = await lazy.stat("latest", join(source, "late.txt"));
      const chunks: Uint8Array[] = [];
      for await (const piece of lazy.readFile(node)) chunks.push(piece);
      assert.equal(Buffer.concat(chunks).toString(), "late ".repeat(9000));
    } finally {
      await lazy.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
