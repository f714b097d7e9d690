// Goal: damage to committed records is found, named by snapshot and path, and costs only what it
// touched. Method: back up a small tree twice through the CLI, find a record's offset through the
// vault's own index, flip bytes inside its sealed body, then run check, snapshots and restore
// (dist/cli/main.js) and compare restored bytes with the source.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import type { BlobId } from "../../src/core/ids.ts";
import { EXIT_CODES } from "../../src/errors/exit-codes.ts";
import { systemClock } from "../../src/util/clock.ts";
import { systemRandom } from "../../src/util/random.ts";
import { Vault } from "../../src/vault/vault.ts";
import { PASSPHRASE, backupJson, initVault, suede, suedeOk } from "../helpers/cli.ts";
import { damageBody } from "../helpers/damage.ts";

interface Fixture {
  readonly dir: string;
  readonly source: string;
  readonly vault: string;
}

async function fixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), "suede-corrupt-"));
  const source = join(dir, "src");
  mkdirSync(join(source, "docs"), { recursive: true });
  writeFileSync(join(source, "victim.bin"), Buffer.alloc(50_000, 0x5a).map((b, i) => (b ^ i) & 0xff));
  writeFileSync(join(source, "keep.txt"), "untouched\n");
  writeFileSync(join(source, "docs", "notes.txt"), "notes\n".repeat(100));
  const vault = join(dir, "v.vault");
  await initVault(vault);
  await backupJson(vault, [source]);
  writeFileSync(join(source, "later.txt"), "added in snapshot 2\n");
  await backupJson(vault, [source]);
  return { dir, source, vault };
}

/** Offset of the record holding a blob, from the vault's committed index. */
async function recordOffset(vaultPath: string, id: BlobId): Promise<number> {
  const vault = await Vault.open(vaultPath, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
  try {
    const location = vault.blobIndex.get(id);
    assert.ok(location !== undefined, "blob is in the index");
    return location.offset;
  } finally {
    await vault.close();
  }
}

async function withLibrary<T>(vaultPath: string, work: (vault: SuedeVault) => Promise<T>): Promise<T> {
  const vault = await SuedeVault.open(vaultPath, { secret: { passphrase: PASSPHRASE } });
  try {
    return await work(vault);
  } finally {
    await vault.close();
  }
}

test("a damaged data chunk: structural check passes, --read-data names both snapshots and the one path, exit 13", async () => {
  const { dir, source, vault } = await fixture();
  try {
    const node = await withLibrary(vault, (v) => v.stat(1, join(source, "victim.bin")));
    await damageBody(vault, await recordOffset(vault, node.chunks![0]!.id));

    const structural = await suedeOk(["check", vault]);
    assert.match(structural.stdout, /data not read \(use --read-data\)/);

    const full = await suede(["check", vault, "--read-data"]);
    assert.equal(full.code, EXIT_CODES.VAULT_CORRUPT, full.stderr);
    const damaged = full.stdout.split("\n").filter((line) => line.startsWith("damaged: "));
    assert.deepEqual(
      damaged.map((line) => line.replace(/: file content damaged: .*/, "")),
      [`damaged: snapshot 1: ${join(source, "victim.bin")}`, `damaged: snapshot 2: ${join(source, "victim.bin")}`],
    );
    assert.equal(full.stderr.trim().split("\n").length, 1, "one-line error");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("restore with one damaged chunk restores every other file byte-exact, names the damaged one, exits 1", async () => {
  const { dir, source, vault } = await fixture();
  try {
    const node = await withLibrary(vault, (v) => v.stat(2, join(source, "victim.bin")));
    await damageBody(vault, await recordOffset(vault, node.chunks![0]!.id));
    const target = join(dir, "out");
    const result = await suede(["restore", vault, "2", "--target", target]);
    assert.equal(result.code, EXIT_CODES.RESTORE_INCOMPLETE, result.stderr);
    assert.match(result.stderr, new RegExp(`${join(source, "victim.bin").replace(/[/.]/g, "\\$&")}: .*damaged`));
    assert.match(result.stderr, /1 entry was not restored/);
    const restored = join(target, source);
    for (const path of ["keep.txt", "later.txt", join("docs", "notes.txt")]) {
      assert.deepEqual(readFileSync(join(restored, path)), readFileSync(join(source, path)), path);
    }
    assert.equal(existsSync(join(restored, "victim.bin")), false, "no file with wrong bytes is left behind");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a damaged directory record: restore keeps everything outside it and reports the directory", async () => {
  const { dir, source, vault } = await fixture();
  try {
    const docs = await withLibrary(vault, (v) => v.stat(2, join(source, "docs")));
    await damageBody(vault, await recordOffset(vault, docs.subtree![0]!));
    const target = join(dir, "out");
    const result = await suede(["restore", vault, "2", "--target", target]);
    assert.equal(result.code, EXIT_CODES.RESTORE_INCOMPLETE, result.stderr);
    assert.match(result.stderr, new RegExp(`${join(source, "docs").replace(/[/.]/g, "\\$&")}: `));
    for (const path of ["keep.txt", "later.txt", "victim.bin"]) {
      assert.deepEqual(readFileSync(join(target, source, path)), readFileSync(join(source, path)), path);
    }
    const check = await suede(["check", vault]);
    assert.equal(check.code, EXIT_CODES.VAULT_CORRUPT);
    assert.match(check.stdout, new RegExp(`damaged: snapshot 2: ${join(source, "docs").replace(/[/.]/g, "\\$&")}: directory listing damaged`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a damaged snapshot record: snapshots lists the others and names the damaged one (exit 13)", async () => {
  const { dir, vault } = await fixture();
  try {
    const refs = await (async () => {
      const inner = await Vault.open(vault, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
      try {
        return inner.snapshots.map((r) => ({ number: r.number, offset: inner.blobIndex.get(r.id)!.offset }));
      } finally {
        await inner.close();
      }
    })();
    await damageBody(vault, refs.find((r) => r.number === 1)!.offset);
    const listing = await suede(["snapshots", vault, "--json"]);
    assert.equal(listing.code, EXIT_CODES.VAULT_CORRUPT, listing.stderr);
    assert.deepEqual((JSON.parse(listing.stdout) as { id: number }[]).map((s) => s.id), [2]);
    assert.match(listing.stderr, /^snapshot 1: damaged: /m);
    const library = await withLibrary(vault, (v) => v.snapshotListing());
    assert.deepEqual(library.snapshots.map((s) => s.number), [2]);
    assert.deepEqual(library.damaged.map((d) => d.number), [1]);
    await suedeOk(["restore", vault, "2", "--target", join(dir, "out")]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a damaged index record: the index is rebuilt from the records, every snapshot restores, writers refuse", async () => {
  const { dir, source, vault } = await fixture();
  try {
    const spans = await (async () => {
      const inner = await Vault.open(vault, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
      try {
        return inner.indexRecordSpans;
      } finally {
        await inner.close();
      }
    })();
    assert.ok(spans.length > 0);
    await damageBody(vault, spans[0]!.offset);
    // `snapshots` loads only the snapshot entries, but a damaged record sends it down the full path: same warning, same list.
    const listing = await suede(["snapshots", vault, "--json"]);
    assert.equal(listing.code, 0, listing.stderr);
    assert.deepEqual((JSON.parse(listing.stdout) as { id: number }[]).map((s) => s.id), [1, 2]);
    assert.match(listing.stderr, /warning: index record damaged .*rebuilt the index by scanning the log/);
    const target = join(dir, "out");
    await suedeOk(["restore", vault, "2", "--target", target]);
    for (const path of ["keep.txt", "later.txt", "victim.bin", join("docs", "notes.txt")]) {
      assert.deepEqual(readFileSync(join(target, source, path)), readFileSync(join(source, path)), path);
    }
    // A writer refuses a vault whose committed index is damaged, until it is repaired.
    const backup = await suede(["backup", vault, source]);
    assert.equal(backup.code, EXIT_CODES.VAULT_CORRUPT, backup.stderr);
    assert.match(backup.stderr, /index record damaged/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
