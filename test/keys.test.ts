// Goal: key slots behave like LUKS slots and no key change can lock a user out.
// Method: add/passwd/remove through the library API; simulate a crash between the two header
// copies by restoring one copy's old bytes; grep the file for removed slot bytes.
import assert from "node:assert/strict";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../src/index.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const HEADER_COPY_BYTES = 4096;

function readCopy(path: string, copy: 0 | 1): Buffer {
  const fd = openSync(path, "r");
  const bytes = Buffer.alloc(HEADER_COPY_BYTES);
  readSync(fd, bytes, 0, HEADER_COPY_BYTES, copy * HEADER_COPY_BYTES);
  closeSync(fd);
  return bytes;
}

function writeCopy(path: string, copy: 0 | 1, bytes: Buffer): void {
  const fd = openSync(path, "r+");
  writeSync(fd, bytes, 0, HEADER_COPY_BYTES, copy * HEADER_COPY_BYTES);
  closeSync(fd);
}

async function opens(path: string, passphrase: string): Promise<boolean> {
  try {
    await (await SuedeVault.open(path, { secret: { passphrase } })).close();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "WRONG_PASSPHRASE") return false;
    throw error;
  }
}

async function freshVault(): Promise<{ dir: string; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), "suede-keys-"));
  const path = join(dir, "v.vault");
  await SuedeVault.create(path, { secret: { passphrase: "one" }, kdf: KDF });
  return { dir, path };
}

test("key add/passwd/remove: each remaining secret opens, removed ones do not, the last slot stays", async () => {
  const { dir, path } = await freshVault();
  try {
    let vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    assert.equal(await vault.addKey({ passphrase: "two" }, { kdf: KDF }), 1);
    assert.equal(await vault.addKey({ keyFile: new Uint8Array([1, 2, 3]) }, { kdf: KDF }), 2);
    assert.deepEqual(vault.listKeys().map((s) => [s.index, s.kind, s.unlocked, s.belowFloor]), [
      [0, "passphrase", true, true],
      [1, "passphrase", false, true],
      [2, "key-file", false, true],
    ]);
    await vault.close();
    assert.ok(await opens(path, "two"));
    await (await SuedeVault.open(path, { secret: { keyFile: new Uint8Array([1, 2, 3]) } })).close();

    vault = await SuedeVault.open(path, { secret: { passphrase: "two" }, writable: true });
    await vault.changeKey({ passphrase: "three" }, { kdf: KDF });
    await vault.close();
    assert.ok(!(await opens(path, "two")));
    assert.ok(await opens(path, "three"));
    assert.ok(await opens(path, "one"));

    const before = readFileSync(path);
    const slot0 = before.subarray(64, 64 + 128);
    vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    assert.equal(await vault.removeKey(), 0);
    await vault.close();
    assert.ok(!(await opens(path, "one")));
    assert.equal(readFileSync(path).indexOf(slot0), -1, "the removed slot's bytes are gone from both header copies");

    vault = await SuedeVault.open(path, { secret: { passphrase: "three" }, writable: true });
    await vault.removeKey(2);
    await assert.rejects(vault.removeKey(), /last key slot/);
    await vault.close();
    assert.ok(await opens(path, "three"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("key passwd interrupted between the two header copies: old and new passphrase both open", async () => {
  const { dir, path } = await freshVault();
  try {
    const oldCopy1 = readCopy(path, 1);
    const vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    await vault.changeKey({ passphrase: "new" }, { kdf: KDF });
    await vault.close();
    // A crash after copy 0 was written and synced but before copy 1: copy 1 still holds the old header.
    writeCopy(path, 1, oldCopy1);
    assert.ok(await opens(path, "new"));
    assert.ok(await opens(path, "one"));
    // A torn copy 0 (half written) leaves copy 1: the old passphrase still opens.
    const torn = readCopy(path, 0);
    torn.fill(0, 2048);
    writeCopy(path, 0, torn);
    assert.ok(await opens(path, "one"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an older copy of the file still opens with a removed passphrase (documented: use a new vault to revoke)", async () => {
  const { dir, path } = await freshVault();
  try {
    let vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    await vault.addKey({ passphrase: "two" }, { kdf: KDF });
    await vault.close();
    const copy = readFileSync(path);
    vault = await SuedeVault.open(path, { secret: { passphrase: "two" }, writable: true });
    await vault.removeKey(0);
    await vault.close();
    assert.ok(!(await opens(path, "one")));
    const oldPath = join(dir, "old.vault");
    const fd = openSync(oldPath, "w");
    writeSync(fd, copy);
    closeSync(fd);
    assert.ok(await opens(oldPath, "one"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("key add/passwd/remove rewrite only the header: every byte from the superblocks on is unchanged (no re-encryption)", async () => {
  const { dir, path } = await freshVault();
  try {
    const source = join(dir, "src");
    mkdirSync(source);
    writeFileSync(join(source, "data.bin"), Buffer.alloc(100_000, 7));
    let vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    await vault.backup({ paths: [source] });
    await vault.close();
    const afterHeader = () => readFileSync(path).subarray(2 * HEADER_COPY_BYTES);
    const log = afterHeader();
    vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    await vault.addKey({ passphrase: "two" }, { kdf: KDF });
    assert.ok(afterHeader().equals(log), "key add");
    await vault.changeKey({ passphrase: "three" }, { kdf: KDF });
    assert.ok(afterHeader().equals(log), "key passwd");
    await vault.removeKey(1);
    assert.ok(afterHeader().equals(log), "key remove");
    await vault.close();
    assert.ok(await opens(path, "three"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("key passwd interrupted between the header copies, then repair: the copies agree again and exactly one set of passphrases works", async () => {
  for (const repairWith of ["new", "one"]) {
    const { dir, path } = await freshVault();
    try {
      const oldCopy1 = readCopy(path, 1);
      let vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
      await vault.changeKey({ passphrase: "new" }, { kdf: KDF });
      await vault.close();
      writeCopy(path, 1, oldCopy1);
      vault = await SuedeVault.open(path, { secret: { passphrase: repairWith }, writable: true });
      try {
        await vault.repair();
      } finally {
        await vault.close();
      }
      // The copies differ only in their copy index (byte 10), self offset (16–23) and checksum.
      const [c0, c1] = [readCopy(path, 0), readCopy(path, 1)];
      for (const copy of [c0, c1]) copy.fill(0, 16, 24).fill(0, 10, 11).fill(0, 4064);
      assert.ok(c0.equals(c1), `repair with "${repairWith}": the copies agree`);
      // Repair keeps the copy that unlocked: the new set after "new", the old set after "one".
      assert.deepEqual([await opens(path, "one"), await opens(path, "new")], repairWith === "new" ? [false, true] : [true, false]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
