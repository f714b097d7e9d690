// Goal: forgetting and pruning never touch data a remaining snapshot needs, and space comes back.
// Method: random sequences of backup / forget / prune over a changing tree through the library API
// (seeded, the seed is printed); after every step each remaining snapshot restores byte-exact.
import assert from "node:assert/strict";
import { createCipheriv, createHash } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../src/index.ts";
import { defaultDeps } from "../src/api/suede-vault.ts";
import { Vault } from "../src/vault/index.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const secret = { passphrase: "lifecycle" };

function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** Seeded pseudo-random bytes: an AES-CTR keystream keyed from the PRNG (fast, reproducible). */
function randomBytes(next: () => number, size: number): Buffer {
  const key = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) key[i] = Math.floor(next() * 256);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** path → sha256 of every file below root. */
function manifest(root: string): Map<string, string> {
  const result = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path, `${rel}${name}/`);
      else result.set(`${rel}${name}`, createHash("sha256").update(readFileSync(path)).digest("hex"));
    }
  };
  walk(root, "");
  return result;
}

test("forget + prune: every remaining snapshot restores byte-exact after random sequences", async () => {
  const seed = Number(process.env.SUEDE_SEED ?? Date.now() % 100000);
  console.log(`seed ${seed} (rerun with SUEDE_SEED=${seed})`);
  const next = prng(seed);
  const dir = mkdtempSync(join(tmpdir(), "suede-life-"));
  const source = join(dir, "src");
  mkdirSync(source);
  const vaultPath = join(dir, "v.vault");
  await SuedeVault.create(vaultPath, { secret, kdf: KDF });
  const expected = new Map<number, Map<string, string>>();
  try {
    for (let step = 0; step < 14; step++) {
      const action = next();
      // Change the tree: add, rewrite or delete a few files (sizes around chunk boundaries too).
      for (let i = 0; i < 3; i++) {
        const name = `f${Math.floor(next() * 12)}.bin`;
        if (next() < 0.25) rmSync(join(source, name), { force: true });
        else writeFileSync(join(source, name), randomBytes(next, [0, 1, 16384, 65537, 300000][Math.floor(next() * 5)]!));
      }
      const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
      try {
        if (action < 0.6 || expected.size === 0) {
          const result = await vault.backup({ paths: [source] });
          expected.set(result.id!, manifest(source));
        } else {
          const numbers = [...expected.keys()];
          const victim = numbers[Math.floor(next() * numbers.length)]!;
          await vault.forget([victim]);
          expected.delete(victim);
          if (next() < 0.7) await vault.prune();
        }
      } finally {
        await vault.close();
      }
      const reader = await SuedeVault.open(vaultPath, { secret });
      try {
        assert.deepEqual((await reader.listSnapshots()).map((s) => s.number), [...expected.keys()].sort((a, b) => a - b));
        for (const [number, files] of expected) {
          const target = join(dir, `restore-${step}-${number}`);
          const result = await reader.restore(number, { target });
          assert.deepEqual(result.failed, []);
          assert.deepEqual(manifest(join(target, source)), files, `snapshot ${number} after step ${step} (seed ${seed})`);
          rmSync(target, { recursive: true });
        }
        const report = await reader.check({ readData: true });
        assert.deepEqual(report.problems, []);
      } finally {
        await reader.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("prune gives space back: forget all but the newest → within 10% of a fresh vault of it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-prune-"));
  const source = join(dir, "src");
  mkdirSync(source);
  const next = prng(7);
  const vaultPath = join(dir, "v.vault");
  await SuedeVault.create(vaultPath, { secret, kdf: KDF });
  try {
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    for (let generation = 0; generation < 5; generation++) {
      for (let i = 0; i < 4; i++) writeFileSync(join(source, `g${generation}-${i}.bin`), randomBytes(next, 2_000_000));
      if (generation > 0) for (let i = 0; i < 4; i++) rmSync(join(source, `g${generation - 1}-${i}.bin`));
      await vault.backup({ paths: [source] });
    }
    const sizeBefore = statSync(vaultPath).size;
    const snapshots = await vault.listSnapshots();
    await vault.forget(snapshots.slice(0, -1).map((s) => s.number));
    const pruned = await vault.prune();
    await vault.close();
    const sizeAfter = statSync(vaultPath).size;
    assert.equal(pruned.sizeAfter, sizeAfter);
    const freshPath = join(dir, "fresh.vault");
    await SuedeVault.create(freshPath, { secret, kdf: KDF });
    const fresh = await SuedeVault.open(freshPath, { secret, writable: true });
    await fresh.backup({ paths: [source] });
    await fresh.close();
    const freshSize = statSync(freshPath).size;
    assert.ok(sizeBefore > 4 * freshSize, `before ${sizeBefore}, fresh ${freshSize}`);
    assert.ok(sizeAfter <= freshSize * 1.1, `after prune ${sizeAfter} bytes, fresh vault ${freshSize} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("forget refuses a pinned snapshot until it is unpinned", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-pin-"));
  try {
    writeFileSync(join(dir, "a.txt"), "a");
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    const { id } = await vault.backup({ paths: [join(dir, "a.txt")] });
    await vault.setPinned(id!, true);
    await assert.rejects(vault.forget([id!]), /pinned/);
    assert.equal((await vault.getSnapshot(id!)).pinned, true);
    await vault.setPinned(id!, false);
    assert.deepEqual(await vault.forget([id!]), [id]);
    await vault.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("prune interrupted at any point, then backup: no snapshot loses data; a log scan still finds everything", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-prune-cut-"));
  try {
    const source = join(dir, "src");
    mkdirSync(source);
    const next = prng(11);
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    for (let generation = 0; generation < 4; generation++) {
      for (let i = 0; i < 6; i++) writeFileSync(join(source, `g${generation}-${i}.bin`), randomBytes(next, 400_000));
      if (generation > 0) for (let i = 0; i < 6; i += 2) rmSync(join(source, `g${generation - 1}-${i}.bin`));
      await vault.backup({ paths: [source] });
    }
    await vault.forget([1, 2]);
    // Cancel after a random number of the cleaner's cancellation checks (0 = right after dropping the dead blobs).
    for (const delayMs of [0, 1, 5, 20]) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), delayMs);
      await vault.prune({ signal: controller.signal }).catch((error: unknown) => assert.equal((error as { code?: string }).code, "CANCELLED"));
      for (let i = 0; i < 2; i++) writeFileSync(join(source, `late-${delayMs}-${i}.bin`), randomBytes(next, 300_000));
      await vault.backup({ paths: [source] });
    }
    await vault.prune();
    await vault.close();
    const expected = manifest(source);
    // Both superblocks lost: the log is a run of whole records, so a scan finds the newest checkpoint.
    const fd = openSync(vaultPath, "r+");
    writeSync(fd, Buffer.alloc(8192), 0, 8192, 8192);
    closeSync(fd);
    const reader = await SuedeVault.open(vaultPath, { secret });
    try {
      assert.match(reader.warnings.join("\n"), /scanned the log/);
      const snapshots = await reader.listSnapshots();
      assert.deepEqual(snapshots.map((s) => s.number), [3, 4, 5, 6, 7, 8]);
      assert.deepEqual((await reader.check({ readData: true })).problems, []);
      const target = join(dir, "restore");
      await reader.restore("latest", { target });
      assert.deepEqual(manifest(join(target, source)), expected);
    } finally {
      await reader.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("info: unreferenced counts a forgotten snapshot's blobs (what prune frees), damaged snapshots make it unknown", async () => {
  const next = prng(4242);
  const dir = mkdtempSync(join(tmpdir(), "suede-info-"));
  const source = join(dir, "src");
  mkdirSync(source);
  const vaultPath = join(dir, "v.vault");
  await SuedeVault.create(vaultPath, { secret, kdf: KDF });
  const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
  try {
    writeFileSync(join(source, "kept.bin"), randomBytes(next, 300_000));
    writeFileSync(join(source, "old.bin"), randomBytes(next, 1_000_000));
    await vault.backup({ paths: [source] });
    rmSync(join(source, "old.bin"));
    await vault.backup({ paths: [source] });
    const before = await vault.info();
    // Every indexed blob is still referenced: only metadata of earlier commits is unreferenced.
    assert.ok(before.garbageBytes !== null && before.garbageBytes < 50_000, `garbage before forget: ${before.garbageBytes}`);
    assert.equal(before.referencedBytes, before.liveBytes);
    await vault.forget([1]);
    const forgotten = await vault.info();
    // old.bin (1 MB of random bytes, stored uncompressed) is indexed but no longer referenced.
    assert.equal(forgotten.liveBytes, before.liveBytes);
    assert.ok(forgotten.garbageBytes !== null && forgotten.garbageBytes > 1_000_000, `garbage after forget: ${forgotten.garbageBytes}`);
    assert.ok(forgotten.referencedBytes !== null && forgotten.referencedBytes < before.liveBytes - 1_000_000);
    assert.equal(forgotten.garbageBytes, (await vault.prune({ dryRun: true })).garbageBytes);
    const pruned = await vault.prune();
    assert.ok(pruned.sizeAfter !== null && pruned.sizeBefore - pruned.sizeAfter > 1_000_000);
    const after = await vault.info();
    assert.ok(after.garbageBytes !== null && after.garbageBytes < 50_000, `garbage after prune: ${after.garbageBytes}`);
    assert.equal(after.fileSizeBytes, pruned.sizeAfter);
  } finally {
    await vault.close();
  }
  // Damage the remaining snapshot's record: what it references is unknown, so is the garbage.
  const inner = await SuedeVault.open(vaultPath, { secret });
  const info = await inner.info();
  await inner.close();
  assert.equal(info.snapshots, 1);
  const raw = await Vault.open(vaultPath, { secret: Buffer.from(secret.passphrase), writable: false, deps: defaultDeps });
  const snapshotBlob = raw.blobIndex.get(raw.snapshots[0]!.id)!;
  await raw.close();
  const fd = openSync(vaultPath, "r+");
  writeSync(fd, Buffer.from([0xff]), 0, 1, snapshotBlob.offset + snapshotBlob.recordLength - 1);
  closeSync(fd);
  const damaged = await SuedeVault.open(vaultPath, { secret });
  try {
    const result = await damaged.info();
    assert.equal(result.snapshots, 0);
    assert.equal(result.garbageBytes, null);
    assert.equal(result.referencedBytes, null);
  } finally {
    await damaged.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
