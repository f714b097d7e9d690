// Goal: a header backup (`suede header backup`) brings back a vault whose BOTH header copies are
// destroyed — by `header restore` or by `salvage --header` — and only ever the vault it came from.
// Method: CLI-made vault with two snapshots; back up its header; zero the whole header region; check
// what opens, what is refused (exit code, one-line message) and that refused restores change no byte.
import assert from "node:assert/strict";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { EXIT_CODES } from "../src/errors/exit-codes.ts";
import { compareTrees } from "./helpers/compare-trees.ts";
import { SUPERBLOCK_SLOT_OFFSETS } from "../src/vault/format.ts";
import { VaultLock } from "../src/vault/lock.ts";
import { FAST_KDF, backupJson, initVault, sha256Of, suede, suedeOk } from "./helpers/cli.ts";
import { Prng } from "./helpers/prng.ts";

const HEADER_REGION_BYTES = 8192;
const FILES = ["a.txt", "b.bin", join("sub", "c.txt")];

async function fixture() {
  const dir = mkdtempSync(join(tmpdir(), "suede-header-"));
  const source = join(dir, "src");
  mkdirSync(join(source, "sub"), { recursive: true });
  writeFileSync(join(source, "a.txt"), "alpha\n".repeat(100));
  const prng = new Prng(7);
  writeFileSync(join(source, "b.bin"), Buffer.from(Array.from({ length: 90_000 }, () => prng.next() & 0xff)));
  writeFileSync(join(source, "sub", "c.txt"), "gamma\n");
  const vault = join(dir, "v.vault");
  await initVault(vault);
  await backupJson(vault, [source]);
  const first = new Map(FILES.map((f) => [f, readFileSync(join(source, f))]));
  writeFileSync(join(source, "a.txt"), "alpha, changed\n");
  await backupJson(vault, [source]);
  const second = new Map(FILES.map((f) => [f, readFileSync(join(source, f))]));
  return { dir, source, vault, expected: new Map([[1, first], [2, second]]) };
}

/** A header backup of a second, unrelated vault made in dir. */
async function otherVaultHeader(dir: string): Promise<string> {
  const other = join(dir, "other.vault");
  await initVault(other);
  const otherHeader = join(dir, "other.header");
  await suedeOk(["header", "backup", other, otherHeader]);
  return otherHeader;
}

function zeroHeaders(vault: string): void {
  const fd = openSync(vault, "r+");
  try {
    writeSync(fd, Buffer.alloc(HEADER_REGION_BYTES), 0, HEADER_REGION_BYTES, 0);
  } finally {
    closeSync(fd);
  }
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got: ${stderr}`);
  return lines[0]!;
}

test("header backup: exact bytes of the header region, mode 0600, a key-slot warning; never overwrites; a wrong passphrase or a destroyed header writes nothing", async () => {
  const { dir, vault } = await fixture();
  try {
    const file = join(dir, "v.header");
    const made = await suedeOk(["header", "backup", vault, file]);
    assert.match(made.stderr, /warning: this file holds the vault's key slots/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readFileSync(file), readFileSync(vault).subarray(0, HEADER_REGION_BYTES));

    writeFileSync(join(dir, "other"), "keep me");
    const again = await suede(["header", "backup", vault, join(dir, "other")]);
    assert.equal(again.code, EXIT_CODES.VAULT_EXISTS);
    assert.match(oneLine(again.stderr), /refusing to overwrite existing file/);
    assert.equal(readFileSync(join(dir, "other"), "utf8"), "keep me");

    const wrong = await suede(["header", "backup", vault, join(dir, "wrong.header")], { passphrase: "not the passphrase" });
    assert.equal(wrong.code, EXIT_CODES.WRONG_PASSPHRASE);
    assert.equal(existsSync(join(dir, "wrong.header")), false);

    zeroHeaders(vault);
    const destroyed = await suede(["header", "backup", vault, join(dir, "late.header")]);
    assert.equal(destroyed.code, EXIT_CODES.VAULT_CORRUPT, "there is no header left to back up");
    assert.equal(existsSync(join(dir, "late.header")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("both header copies zeroed: the vault does not open (13); header restore brings back every snapshot byte-exact and check passes", async () => {
  const { dir, source, vault, expected } = await fixture();
  try {
    const file = join(dir, "v.header");
    await suedeOk(["header", "backup", vault, file]);
    zeroHeaders(vault);
    const broken = await suede(["snapshots", vault]);
    assert.equal(broken.code, EXIT_CODES.VAULT_CORRUPT, broken.stderr);

    const restored = await suedeOk(["header", "restore", vault, file]);
    assert.match(restored.stdout, /restored the header of/);
    assert.deepEqual(readFileSync(vault).subarray(0, HEADER_REGION_BYTES), readFileSync(file));
    for (const [number, files] of expected) {
      const target = join(dir, `out-${number}`);
      await suedeOk(["restore", vault, String(number), "--target", target]);
      for (const [name, bytes] of files) assert.deepEqual(readFileSync(join(target, source, name)), bytes, `${number}:${name}`);
    }
    assert.deepEqual(await compareTrees(source, join(dir, "out-2", source), { ignoreOwner: true }), []);
    await suedeOk(["check", vault, "--read-data"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("header restore refuses a header of another vault, a wrong passphrase and a file that is no header, and changes nothing", async () => {
  const { dir, vault } = await fixture();
  try {
    const otherHeader = await otherVaultHeader(dir);
    const own = join(dir, "v.header");
    await suedeOk(["header", "backup", vault, own]);
    zeroHeaders(vault);
    const before = await sha256Of(vault);

    const foreign = await suede(["header", "restore", vault, otherHeader]);
    assert.equal(foreign.code, EXIT_CODES.BAD_HEADER_BACKUP);
    assert.match(oneLine(foreign.stderr), /is not a header of .*another vault.*nothing was written/);
    assert.equal(await sha256Of(vault), before);

    const wrong = await suede(["header", "restore", vault, own], { passphrase: "not the passphrase" });
    assert.equal(wrong.code, EXIT_CODES.WRONG_PASSPHRASE);
    assert.match(oneLine(wrong.stderr), /wrong passphrase/);
    assert.equal(await sha256Of(vault), before);

    const junk = join(dir, "junk");
    writeFileSync(junk, Buffer.alloc(HEADER_REGION_BYTES, 7));
    const notHeader = await suede(["header", "restore", vault, junk]);
    assert.equal(notHeader.code, EXIT_CODES.BAD_HEADER_BACKUP);
    assert.match(oneLine(notHeader.stderr), /is not a suede header backup/);
    assert.equal(await sha256Of(vault), before);
    assert.equal(existsSync(`${vault}.lock`), false, "the writer lock is released");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("salvage --header: both header copies zeroed, salvage fails without the backup (13) and restores both snapshots with it", async () => {
  const { dir, source, vault, expected } = await fixture();
  try {
    const file = join(dir, "v.header");
    await suedeOk(["header", "backup", vault, file]);
    zeroHeaders(vault);
    const without = await suede(["salvage", vault, "--target", join(dir, "none")]);
    assert.equal(without.code, EXIT_CODES.VAULT_CORRUPT, without.stderr);

    const before = await sha256Of(vault);
    const target = join(dir, "out");
    await suedeOk(["salvage", vault, "--header", file, "--target", target]);
    for (const [number, files] of expected) {
      for (const [name, bytes] of files) assert.deepEqual(readFileSync(join(target, `snapshot-${number}`, source, name)), bytes, `${number}:${name}`);
    }
    assert.equal(await sha256Of(vault), before, "salvage never writes the vault");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("header restore undoes later key changes: a backup from before `key passwd` opens with the old passphrase again; one from before `key rekey` is refused", async () => {
  const { dir, vault } = await fixture();
  try {
    const file = join(dir, "v.header");
    await suedeOk(["header", "backup", vault, file]);
    const newPassphrase = join(dir, "new-pass");
    writeFileSync(newPassphrase, "a new passphrase\n");
    await suedeOk(["key", "passwd", vault, "--new-passphrase-file", newPassphrase, ...FAST_KDF]);
    zeroHeaders(vault);
    await suedeOk(["header", "restore", vault, file]);
    await suedeOk(["snapshots", vault]);
    const stale = await suede(["snapshots", vault], { passphrase: "a new passphrase" });
    assert.equal(stale.code, EXIT_CODES.WRONG_PASSPHRASE, "the backup's slots replace the later ones");

    await suedeOk(["key", "rekey", vault, ...FAST_KDF]);
    const before = await sha256Of(vault);
    const old = await suede(["header", "restore", vault, file]);
    assert.equal(old.code, EXIT_CODES.BAD_HEADER_BACKUP);
    assert.match(oneLine(old.stderr), /before a re-key/);
    assert.equal(await sha256Of(vault), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("header restore with the superblocks destroyed too: the first log record proves the vault's identity, and the vault opens again", async () => {
  const { dir, source, vault, expected } = await fixture();
  try {
    const file = join(dir, "v.header");
    await suedeOk(["header", "backup", vault, file]);
    zeroHeaders(vault);
    const fd = openSync(vault, "r+");
    try {
      for (const offset of SUPERBLOCK_SLOT_OFFSETS) writeSync(fd, Buffer.alloc(4096), 0, 4096, offset);
    } finally {
      closeSync(fd);
    }
    await suedeOk(["header", "restore", vault, file]);
    const target = join(dir, "out");
    await suedeOk(["restore", vault, "2", "--target", target]);
    for (const [name, bytes] of expected.get(2)!) assert.deepEqual(readFileSync(join(target, source, name)), bytes, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("while another writer holds the lock, header restore exits 11 and writes nothing", async () => {
  const { dir, vault } = await fixture();
  try {
    const file = join(dir, "v.header");
    await suedeOk(["header", "backup", vault, file]);
    zeroHeaders(vault);
    const before = await sha256Of(vault);
    const lock = await VaultLock.acquire(vault, Date.now());
    try {
      const locked = await suede(["header", "restore", vault, file]);
      assert.equal(locked.code, EXIT_CODES.VAULT_LOCKED, locked.stderr);
      assert.equal(await sha256Of(vault), before);
    } finally {
      await lock.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("salvage --header with another vault's header says so (one line, exit 1) and writes nothing into the target", async () => {
  const { dir, vault } = await fixture();
  try {
    const otherHeader = await otherVaultHeader(dir);
    zeroHeaders(vault);
    const target = join(dir, "out");
    const result = await suede(["salvage", vault, "--header", otherHeader, "--target", target]);
    assert.equal(result.code, EXIT_CODES.BAD_HEADER_BACKUP, result.stderr);
    assert.match(oneLine(result.stderr), /opens with the key of .*another vault/);
    assert.ok(!existsSync(target) || readdirSync(target).length === 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
