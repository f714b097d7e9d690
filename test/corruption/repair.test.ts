// Goal: `check --repair` rebuilds what the log still holds (index, superblock slot, header copy,
// a lost commit), drops unreadable snapshots only when told to, and never overwrites a byte of
// the log. Method: damage one structure of a CLI-made vault, run plain check (exit 13 or a
// "repairable" line), then check --repair, then check, backup and restore again.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { EXIT_CODES } from "../../src/errors/exit-codes.ts";
import { systemClock } from "../../src/util/clock.ts";
import { systemRandom } from "../../src/util/random.ts";
import { HEADER_COPY_OFFSETS, LOG_START_OFFSET, RECORD_PREFIX_SIZE_BYTES, SUPERBLOCK_SLOT_OFFSETS } from "../../src/vault/format.ts";
import { Vault } from "../../src/vault/vault.ts";
import { PASSPHRASE, backupJson, initVault, snapshotsJson, suede, suedeOk } from "../helpers/cli.ts";

async function fixture(): Promise<{ dir: string; source: string; vault: string }> {
  const dir = mkdtempSync(join(tmpdir(), "suede-repair-"));
  const source = join(dir, "src");
  mkdirSync(join(source, "sub"), { recursive: true });
  writeFileSync(join(source, "a.txt"), "alpha\n".repeat(500));
  writeFileSync(join(source, "sub", "b.bin"), Buffer.alloc(40_000, 3));
  const vault = join(dir, "v.vault");
  await initVault(vault);
  await backupJson(vault, [source]);
  writeFileSync(join(source, "c.txt"), "second snapshot\n");
  await backupJson(vault, [source]);
  return { dir, source, vault };
}

async function inner<T>(vaultPath: string, use: (vault: Vault) => T | Promise<T>): Promise<T> {
  const vault = await Vault.open(vaultPath, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
  try {
    return await use(vault);
  } finally {
    await vault.close();
  }
}

async function flip(vaultPath: string, at: number): Promise<void> {
  const handle = await open(vaultPath, "r+");
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0]! ^= 0x10;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

async function assertRestores(vault: string, source: string, target: string, snapshot = "latest"): Promise<void> {
  await suedeOk(["restore", vault, snapshot, "--target", target]);
  for (const path of ["a.txt", join("sub", "b.bin")]) assert.deepEqual(readFileSync(join(target, source, path)), readFileSync(join(source, path)), path);
}

/** The log as it was must still be there, byte for byte: repair only appends. */
function assertLogKept(vault: string, before: Buffer): void {
  const after = readFileSync(vault);
  assert.ok(after.byteLength >= before.byteLength, "repair never shrinks the file");
  assert.ok(after.subarray(LOG_START_OFFSET, before.byteLength).equals(before.subarray(LOG_START_OFFSET)), "log bytes unchanged");
}

test("damaged index record: check exits 13 and points at --repair; repair rewrites the index; writers work again", async () => {
  const { dir, source, vault } = await fixture();
  try {
    const span = await inner(vault, (v) => v.indexRecordSpans[0]!);
    await flip(vault, span.offset + RECORD_PREFIX_SIZE_BYTES + 1);
    const before = readFileSync(vault);
    const check = await suede(["check", vault]);
    assert.equal(check.code, EXIT_CODES.VAULT_CORRUPT, check.stdout + check.stderr);
    assert.match(check.stdout, /repairable: rewrite the index from the log \(run suede check --repair\)/);
    assert.match(check.stderr, /suede check --repair can fix part of it/);

    const repair = await suedeOk(["check", vault, "--repair"]);
    assert.match(repair.stdout, /^repaired: rewrote the index from a scan of the log/m);
    assert.match(repair.stdout, /no problems found/);
    assertLogKept(vault, before);
    const after = await suedeOk(["check", vault, "--read-data"]);
    assert.doesNotMatch(after.stdout + after.stderr, /repairable|warning/);
    await backupJson(vault, [source]);
    await assertRestores(vault, source, join(dir, "out"), "1");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("damaged header copy and superblock slot: check passes but lists them; repair rewrites both from the good copy", async () => {
  const { dir, source, vault } = await fixture();
  try {
    await flip(vault, HEADER_COPY_OFFSETS[1] + 200); // inside a key slot of copy 1
    await flip(vault, SUPERBLOCK_SLOT_OFFSETS[0] + 40);
    const before = readFileSync(vault);
    const check = await suedeOk(["check", vault]);
    assert.match(check.stdout, /repairable: rewrite superblock slot 0/);
    assert.match(check.stdout, /repairable: rewrite header copy 1/);
    const repair = await suedeOk(["check", vault, "--repair"]);
    assert.match(repair.stdout, /repaired: rewrote superblock slot 0/);
    assert.match(repair.stdout, /repaired: rewrote header copy 1 from the copy in use/);
    assertLogKept(vault, before);
    const state = await inner(vault, async (v) => ({ stale: await v.staleHeaderCopies(), slots: await v.damagedSuperblockSlots(), warnings: v.warnings }));
    assert.deepEqual(state, { stale: [], slots: [], warnings: [] });
    // Each copy alone now opens the vault: damage the other and restore.
    await flip(vault, HEADER_COPY_OFFSETS[0] + 200);
    await assertRestores(vault, source, join(dir, "out"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("unreadable snapshot record: repair reports it and keeps it; --forget-damaged drops it and nothing else", async () => {
  const { dir, source, vault } = await fixture();
  try {
    const offset = await inner(vault, (v) => v.blobIndex.get(v.snapshots.find((s) => s.number === 1)!.id)!.offset);
    await flip(vault, offset + RECORD_PREFIX_SIZE_BYTES + 2);
    const check = await suede(["check", vault]);
    assert.equal(check.code, EXIT_CODES.VAULT_CORRUPT);
    const keep = await suede(["check", vault, "--repair"]);
    assert.equal(keep.code, EXIT_CODES.VAULT_CORRUPT);
    assert.match(keep.stdout, /^not repaired: snapshot 1 cannot be restored .*--forget-damaged drops it/m);
    const usage = await suede(["check", vault, "--forget-damaged"]);
    assert.equal(usage.code, EXIT_CODES.USAGE);
    const drop = await suedeOk(["check", vault, "--repair", "--forget-damaged"]);
    assert.match(drop.stdout, /repaired: forgot unreadable snapshot\(s\) 1/);
    assert.deepEqual((await snapshotsJson(vault)).map((s) => s.id), [2]);
    await assertRestores(vault, source, join(dir, "out"), "2");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lost newest checkpoint: the vault opens at the commit before; repair recommits it without truncating the later records", async () => {
  const { dir, source, vault } = await fixture();
  try {
    const offset = await inner(vault, (v) => v.checkpointOffset);
    await flip(vault, offset + RECORD_PREFIX_SIZE_BYTES + 1);
    const before = readFileSync(vault);
    const check = await suede(["check", vault]);
    assert.equal(check.code, EXIT_CODES.VAULT_CORRUPT, check.stdout);
    assert.match(check.stdout, /repairable: commit the newest readable state anew/);
    const refused = await suede(["backup", vault, source]);
    assert.equal(refused.code, EXIT_CODES.VAULT_CORRUPT);
    assert.match(refused.stderr, /run suede check --repair/);
    const repair = await suedeOk(["check", vault, "--repair"]);
    assert.match(repair.stdout, /repaired: committed the newest readable state/);
    assertLogKept(vault, before);
    assert.deepEqual((await snapshotsJson(vault)).map((s) => s.id), [1]);
    await backupJson(vault, [source]);
    await assertRestores(vault, source, join(dir, "out"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
