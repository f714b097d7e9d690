// Goal: RELIABILITY.md T21 (and T19's future-version case) at the CLI: someone without the key changes a
// header parameter in both copies and recomputes the public checksum, as an attacker can. Method: patch a
// real vault's bytes, run `snapshots` and `restore`, assert exit code, one line, and that no byte changed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { initVault, sha256Of, suede, suedeOk, tempDir } from "../helpers/cli.ts";

const COPY_OFFSETS = [0, 4096];
const CHECKSUM_OFFSET = 4064;
const SLOT0 = 64;

/** Writes `bytes` at `offset` of both header copies and recomputes each copy's SHA-256 checksum. */
async function tamper(from: string, to: string, offset: number, bytes: Buffer): Promise<void> {
  const file = await readFile(from);
  for (const base of COPY_OFFSETS) {
    bytes.copy(file, base + offset);
    createHash("sha256").update(file.subarray(base, base + CHECKSUM_OFFSET)).digest().copy(file, base + CHECKSUM_OFFSET);
  }
  await writeFile(to, file);
}

function u64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

/** One line on stderr (the KDF-below-floor warning of the test KDF aside), with the exit code. */
function assertOneLine(result: { code: number | null; stderr: string }, code: number, pattern: RegExp): void {
  const lines = result.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("suede: warning: KDF below"));
  assert.equal(result.code, code, `exit code (stderr: ${result.stderr})`);
  assert.equal(lines.length, 1, `one line of stderr, got ${JSON.stringify(result.stderr)}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at |internal error/);
}

describe("header parameter tampering with a recomputed checksum (T21)", { timeout: 120_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };
  let vault: string;

  before(async () => {
    work = await tempDir("tamper");
    vault = join(work.path, "vault.suede");
    const source = join(work.path, "src");
    await mkdir(source);
    await writeFile(join(source, "a.txt"), "tamper me not\n");
    await initVault(vault);
    await suedeOk(["backup", vault, source]);
  });

  after(async () => {
    await work.remove();
  });

  // Each case: what is changed, where, and what suede must say. Every case is refused before any data is read.
  const cases: { name: string; offset: number; bytes: Buffer; code: number; message: RegExp }[] = [
    { name: "format version 2 (a future vault)", offset: 8, bytes: Buffer.from([2, 0]), code: 14, message: /format version 2 is not supported/ },
    { name: "cipher id", offset: 48, bytes: Buffer.from([2]), code: 13, message: /both header copies are damaged.*unknown algorithms/ },
    { name: "id hash", offset: 49, bytes: Buffer.from([2]), code: 13, message: /unknown algorithms/ },
    { name: "compression", offset: 50, bytes: Buffer.from([0]), code: 13, message: /unknown algorithms/ },
    { name: "key slot count", offset: 51, bytes: Buffer.from([4]), code: 13, message: /unknown algorithms/ },
    { name: "KDF type of slot 0", offset: SLOT0 + 2, bytes: Buffer.from([2]), code: 13, message: /KDF 2 is unknown/ },
    { name: "header sequence", offset: 24, bytes: u64(9), code: 13, message: /MAC mismatch.*tampered/ },
    { name: "slot 0's masked creation time", offset: SLOT0 + 116, bytes: u64(12345), code: 13, message: /MAC mismatch.*tampered/ },
    // The vault id and the KDF parameters are AAD of the wrapped key (FORMAT.md §3.2, §3.5): changed, no slot
    // unwraps, so nothing can tell this from a wrong secret before unlocking. No weaker KDF can take effect.
    { name: "vault id", offset: 32, bytes: Buffer.from("00112233445566778899aabbccddeeff", "hex"), code: 12, message: /wrong passphrase/ },
    { name: "KDF iterations of slot 0 (1 → 2)", offset: SLOT0 + 4, bytes: u32(2), code: 12, message: /wrong passphrase/ },
    { name: "KDF iterations of slot 0 below the floor (0)", offset: SLOT0 + 4, bytes: u32(0), code: 13, message: /KDF iterations 0 outside/ },
    { name: "KDF memory of slot 0 (1 MiB → 8 KiB, a downgrade)", offset: SLOT0 + 8, bytes: u32(8), code: 12, message: /wrong passphrase/ },
  ];

  for (const [i, c] of cases.entries()) {
    test(`${c.name}: exit ${c.code} with one line, nothing restored, the file unchanged`, async () => {
      const copy = join(work.path, `t-${i}.suede`);
      await tamper(vault, copy, c.offset, c.bytes);
      const before = await sha256Of(copy);
      const target = join(work.path, `target-${i}`);
      const [listed, restored] = await Promise.all([suede(["snapshots", copy]), suede(["restore", copy, "1", "--target", target])]);
      assertOneLine(listed, c.code, c.message);
      assertOneLine(restored, c.code, c.message);
      assert.deepEqual(await readdir(target).catch(() => []), [], "nothing restored");
      assert.equal(await sha256Of(copy), before, "the vault file is unchanged");
    });
  }

  test("the untouched vault still opens, and a wrong passphrase is told apart from tampering (exit 12, not 13)", async () => {
    const copy = join(work.path, "plain.suede");
    await copyFile(vault, copy);
    assertOneLine(await suede(["snapshots", copy], { passphrase: "not the passphrase" }), 12, /wrong passphrase/);
    const listed = await suedeOk(["snapshots", copy, "--json"]);
    assert.equal((JSON.parse(listed.stdout) as unknown[]).length, 1);
  });
});
