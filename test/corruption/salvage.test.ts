// Goal: `suede salvage` gets back every readable file from a vault that no longer opens. Method:
// CLI-made vault with two snapshots; destroy both superblocks, every checkpoint and index record
// (and, in one case, a 4 KiB block of file data in the middle of the log); the normal open fails,
// salvage restores byte-exact what survived and lists exactly what did not.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { SalvageReport } from "../../src/index.ts";
import { EXIT_CODES } from "../../src/errors/exit-codes.ts";
import { systemClock } from "../../src/util/clock.ts";
import { systemRandom } from "../../src/util/random.ts";
import { HEADER_COPY_OFFSETS, RECORD_PREFIX_SIZE_BYTES, RecordKind, SUPERBLOCK_SLOT_OFFSETS } from "../../src/vault/format.ts";
import { scanLog } from "../../src/vault/recover.ts";
import { nextCandidate } from "../../src/vault/salvage.ts";
import { Vault } from "../../src/vault/vault.ts";
import { Prng } from "../helpers/prng.ts";
import { PASSPHRASE, backupJson, initVault, suede, suedeOk } from "../helpers/cli.ts";

const FILES = ["one.txt", "two.bin", join("sub", "three.txt"), join("sub", "deep", "four.bin")];

async function fixture() {
  const dir = mkdtempSync(join(tmpdir(), "suede-salvage-"));
  const source = join(dir, "src");
  mkdirSync(join(source, "sub", "deep"), { recursive: true });
  writeFileSync(join(source, "one.txt"), "first file\n".repeat(50));
  const prng = new Prng(11);
  writeFileSync(join(source, "two.bin"), Buffer.from(Array.from({ length: 120_000 }, () => prng.next() & 0xff)));
  writeFileSync(join(source, "sub", "three.txt"), "third\n");
  writeFileSync(join(source, "sub", "deep", "four.bin"), Buffer.from(Array.from({ length: 60_000 }, (_, i) => (i * 31) % 253)));
  const vault = join(dir, "v.vault");
  await initVault(vault);
  await backupJson(vault, [source]);
  const first = new Map(FILES.map((f) => [f, readFileSync(join(source, f))]));
  writeFileSync(join(source, "one.txt"), "first file, changed\n");
  await backupJson(vault, [source]);
  const second = new Map(FILES.map((f) => [f, readFileSync(join(source, f))]));
  return { dir, source, vault, expected: new Map([[1, first], [2, second]]) };
}

async function records(vaultPath: string): Promise<{ offset: number; sizeBytes: number; kind: number; id: Buffer }[]> {
  const vault = await Vault.open(vaultPath, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
  try {
    const file = (vault as unknown as { file: Parameters<typeof scanLog>[0] }).file;
    const found: { offset: number; sizeBytes: number; kind: number; id: Buffer }[] = [];
    for await (const r of scanLog(file, vault.recordKeys)) found.push({ offset: r.offset, sizeBytes: r.sizeBytes, kind: r.opened.header.kind, id: Buffer.from(r.opened.header.id) });
    return found;
  } finally {
    await vault.close();
  }
}

function patch(path: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.byteLength, offset);
  } finally {
    closeSync(fd);
  }
}

/** Both superblocks zeroed; every checkpoint and index record damaged inside its body. */
async function wreckStructure(vault: string): Promise<void> {
  for (const r of await records(vault)) {
    if (r.kind === RecordKind.checkpoint || r.kind === RecordKind.index) patch(vault, r.offset + RECORD_PREFIX_SIZE_BYTES + 1, Buffer.from([0xee, 0xee]));
  }
  for (const offset of SUPERBLOCK_SLOT_OFFSETS) patch(vault, offset, Buffer.alloc(4096));
}

test("superblocks, checkpoints and index gone: open fails (13), salvage restores both snapshots byte-exact (exit 0)", async () => {
  const { dir, source, vault, expected } = await fixture();
  try {
    await wreckStructure(vault);
    const ls = await suede(["snapshots", vault]);
    assert.equal(ls.code, EXIT_CODES.VAULT_CORRUPT, ls.stderr);
    const target = join(dir, "out");
    const result = await suedeOk(["salvage", vault, "--target", target, "--json"]);
    const report = JSON.parse(result.stdout) as SalvageReport;
    assert.deepEqual(report.snapshots.map((s) => [s.number, s.lost.length]), [[1, 0], [2, 0]]);
    for (const [number, files] of expected) {
      for (const [file, bytes] of files) assert.deepEqual(readFileSync(join(target, `snapshot-${number}`, source, file)), bytes, `${number}:${file}`);
    }
    assert.ok(report.scan.records.data >= 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("plus a zeroed block of file data: salvage restores every other file, lists the lost one, exits 1", async () => {
  const { dir, source, vault, expected } = await fixture();
  try {
    // The largest data record holds random bytes of two.bin (everything else compresses well).
    const data = (await records(vault)).filter((r) => r.kind === RecordKind.data).sort((a, b) => b.sizeBytes - a.sizeBytes)[0]!;
    await wreckStructure(vault);
    patch(vault, data.offset + 100, Buffer.alloc(Math.min(4096, data.sizeBytes - 200)));
    const target = join(dir, "out");
    const result = await suede(["salvage", vault, "--target", target, "--snapshot", "2"]);
    assert.equal(result.code, EXIT_CODES.RESTORE_INCOMPLETE, result.stderr);
    const lostLines = result.stdout.split("\n").filter((l) => l.includes("lost: "));
    assert.equal(lostLines.length, 1, result.stdout);
    assert.match(lostLines[0]!, new RegExp(`lost: .*${join(source, "two.bin").replace(/[/.]/g, "\\$&")}: `));
    assert.match(result.stderr, /1 entry could not be salvaged/);
    for (const [file, bytes] of expected.get(2)!) {
      const path = join(target, source, file);
      if (file === "two.bin") assert.equal(existsSync(path), false, "a damaged file is not left with wrong bytes");
      else assert.deepEqual(readFileSync(path), bytes, file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("salvage refuses cleanly: both header copies gone (13), unknown snapshot, non-empty target", async () => {
  const { dir, vault } = await fixture();
  try {
    const target = join(dir, "out");
    const missing = await suede(["salvage", vault, "--target", target, "--snapshot", "9"]);
    assert.equal(missing.code, EXIT_CODES.SNAPSHOT_NOT_FOUND);
    mkdirSync(join(dir, "full"));
    writeFileSync(join(dir, "full", "x"), "x");
    const full = await suede(["salvage", vault, "--target", join(dir, "full")]);
    assert.equal(full.code, EXIT_CODES.TARGET_NOT_EMPTY);
    for (const offset of HEADER_COPY_OFFSETS) patch(vault, offset + 100, Buffer.alloc(64, 1));
    const headless = await suede(["salvage", vault, "--target", join(dir, "out2")]);
    assert.equal(headless.code, EXIT_CODES.VAULT_CORRUPT);
    assert.match(headless.stderr, /both header copies are damaged/);
    assert.equal(headless.stderr.trim().split("\n").length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("salvage resync skips constant-filled stretches in one step and random bytes one byte at a time", () => {
  const zeros = Buffer.alloc(10_000);
  assert.equal(nextCandidate(zeros, 0), 10_000 - 7);
  const mixed = Buffer.concat([Buffer.from([1, 2, 3, 4, 5]), Buffer.alloc(100, 0xff), Buffer.from([9, 8, 7])]);
  assert.equal(nextCandidate(mixed, 0), 105 - 7, "every start whose prefix holds 8 equal bytes is skipped");
  const prng = new Prng(5);
  const random = Buffer.from(Array.from({ length: 200 }, () => prng.next() & 0xff));
  assert.equal(nextCandidate(random, 10), 11);
});
