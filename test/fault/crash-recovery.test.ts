// Goal: a vault survives torn tails, lost or destroyed superblocks, damaged header copies, truncation at any point after a commit, SIGKILLed writers and bit rot, always opening at a committed snapshot that restores byte-exact. Method: real vaults in fresh temp dirs driven through the public SuedeVault API, damaged by raw file edits (offsets from FORMAT constants; record positions read with the vault's own keys), (SIGKILL loops: kill-loops.test.ts).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { SuedeError } from "../../src/errors/errors.ts";
import { systemClock } from "../../src/util/clock.ts";
import { systemRandom } from "../../src/util/random.ts";
import {
  HEADER_COPY_OFFSETS,
  HEADER_COPY_SIZE_BYTES,
  HEADER_FIXED_SIZE_BYTES,
  LOG_START_OFFSET,
  RECORD_PREFIX_SIZE_BYTES,
  SUPERBLOCK_SLOT_OFFSETS,
  SUPERBLOCK_SLOT_SIZE_BYTES,
} from "../../src/vault/format.ts";
import { scanLog } from "../../src/vault/recover.ts";
import { Vault } from "../../src/vault/vault.ts";
import { withVault } from "./harness.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const PASSPHRASE = "fault-test";
const SECRET = { passphrase: PASSPHRASE };

const envSeed = process.env["SUEDE_FAULT_SEED"];
const SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
const SEED_NOTE = `fault seed ${SEED} (rerun with SUEDE_FAULT_SEED=${SEED})`;

/** A small seeded generator (mulberry32) for positions and delays, so failures can be replayed. */
function seededRandom(seed: number): (maxExclusive: number) => number {
  let state = seed >>> 0;
  return (maxExclusive) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * maxExclusive);
  };
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/suede-`);
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Contents = Map<string, Buffer>;

/** Writes files (relative path → bytes) under root and returns what was written. */
function writeFiles(root: string, files: Record<string, number | Buffer>): Contents {
  const written: Contents = new Map();
  for (const [rel, spec] of Object.entries(files)) {
    const bytes = typeof spec === "number" ? randomBytes(spec) : spec;
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), bytes);
    written.set(rel, bytes);
  }
  return written;
}

function readTree(root: string): Contents {
  const out: Contents = new Map();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.set(path.relative(root, full), fs.readFileSync(full));
    }
  };
  walk(root);
  return out;
}

function assertSameContents(actual: Contents, expected: Contents, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: file names differ`);
  for (const [rel, bytes] of expected) assert.ok(actual.get(rel)!.equals(bytes), `${what}: ${rel} differs`);
}

async function createVault(vaultPath: string): Promise<void> {
  await SuedeVault.create(vaultPath, { secret: SECRET, kdf: KDF });
}

async function openVault(vaultPath: string, writable = false): Promise<SuedeVault> {
  return SuedeVault.open(vaultPath, { secret: SECRET, writable });
}

async function backupOnce(vaultPath: string, source: string, tags: string[] = []): Promise<number> {
  return withVault(vaultPath, PASSPHRASE, true, async (vault) => {
    const result = await vault.backup({ paths: [source], tags });
    assert.deepEqual(result.skipped, []);
    return result.id!;
  });
}

async function snapshotNumbers(vault: SuedeVault): Promise<number[]> {
  return (await vault.listSnapshots()).map((s) => s.number);
}

let restoreCounter = 0;
/** Restores one snapshot into a fresh directory and returns the files found under the source path. */
async function restoreContents(vault: SuedeVault, snapshot: number, source: string, scratch: string): Promise<{ contents: Contents; failed: readonly { path: string; message: string }[] }> {
  const target = path.join(scratch, `restore-${restoreCounter++}`);
  try {
    const result = await vault.restore(snapshot, { target });
    return { contents: readTree(path.join(target, source)), failed: result.failed };
  } finally {
    fs.rmSync(target, { recursive: true, force: true });
  }
}

async function assertRestores(vault: SuedeVault, snapshot: number, source: string, expected: Contents, scratch: string): Promise<void> {
  const { contents, failed } = await restoreContents(vault, snapshot, source, scratch);
  assert.deepEqual(failed, [], `snapshot ${snapshot}: restore reported failures`);
  assertSameContents(contents, expected, `snapshot ${snapshot}`);
}

/** Vault internals for locating records (read-only open with the same passphrase). */
async function withRawVault<T>(vaultPath: string, fn: (vault: Vault) => Promise<T>): Promise<T> {
  const vault = await Vault.open(vaultPath, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}

async function recordOffsets(vaultPath: string): Promise<{ offset: number; sizeBytes: number; kind: number }[]> {
  return withRawVault(vaultPath, async (vault) => {
    const file = (vault as unknown as { file: Parameters<typeof scanLog>[0] }).file;
    const records: { offset: number; sizeBytes: number; kind: number }[] = [];
    for await (const record of scanLog(file, vault.recordKeys)) records.push({ offset: record.offset, sizeBytes: record.sizeBytes, kind: record.opened.header.kind });
    return records;
  });
}

function patchFile(vaultPath: string, offset: number, bytes: Uint8Array): void {
  const fd = fs.openSync(vaultPath, "r+");
  try {
    fs.writeSync(fd, bytes, 0, bytes.byteLength, offset);
  } finally {
    fs.closeSync(fd);
  }
}

function flipBit(vaultPath: string, bitOffset: number): void {
  const fd = fs.openSync(vaultPath, "r+");
  try {
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, bitOffset >> 3);
    byte[0]! ^= 1 << (bitOffset & 7);
    fs.writeSync(fd, byte, 0, 1, bitOffset >> 3);
  } finally {
    fs.closeSync(fd);
  }
}

const isCode = (code: string) => (error: unknown) => {
  assert.ok(error instanceof SuedeError, `expected SuedeError ${code}, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return true;
};

/** Temp dirs shared by several tests (removed when the file's tests end). */
const sharedDirs: string[] = [];
after(() => {
  for (const dir of sharedDirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface TwoSnapshots {
  /** Pristine vault with snapshots 1 and 2; tests damage copies of it. */
  readonly pristine: string;
  /** The source as of snapshot 2 (never changed afterwards, so backing it up again reads no file). */
  readonly source: string;
  readonly states: readonly [Contents, Contents];
}

let twoSnapshotsFixture: Promise<TwoSnapshots> | null = null;

/** A vault with two committed snapshots of a changing source, built once for the file. */
function twoSnapshots(): Promise<TwoSnapshots> {
  twoSnapshotsFixture ??= (async () => {
    const dir = fs.mkdtempSync(`${os.tmpdir()}/suede-`);
    sharedDirs.push(dir);
    const pristine = path.join(dir, "v.suede");
    const source = path.join(dir, "src");
    await createVault(pristine);
    const first = writeFiles(source, { "a.bin": 40_000, "b.txt": Buffer.from("hello\n"), "d/c.bin": 150_000 });
    assert.equal(await backupOnce(pristine, source), 1);
    const added = writeFiles(source, { "a.bin": 60_000, "d/e.bin": 3_000 });
    assert.equal(await backupOnce(pristine, source), 2);
    return { pristine, source, states: [first, new Map([...first, ...added])] as const };
  })();
  return twoSnapshotsFixture;
}

/** A private copy of the two-snapshot vault in the test's own temp dir. */
async function copyOfTwoSnapshots(dir: string): Promise<TwoSnapshots & { vaultPath: string }> {
  const fixture = await twoSnapshots();
  const vaultPath = path.join(dir, "v.suede");
  fs.copyFileSync(fixture.pristine, vaultPath);
  return { ...fixture, vaultPath };
}

// ---- a) torn tail ----

test("SuedeVault.open: a torn tail after the last commit is ignored, then truncated by the next writer", async (t) => {
  const dir = tempDir(t);
  const vaultPath = path.join(dir, "v.suede");
  const source = path.join(dir, "src");
  await createVault(vaultPath);
  const first = writeFiles(source, { "one.bin": 70_000, "two.txt": Buffer.from("two\n") });
  await backupOnce(vaultPath, source);
  const committed = fs.readFileSync(vaultPath);
  const records = await recordOffsets(vaultPath);
  const last = records[records.length - 1]!;
  const lastRecord = committed.subarray(last.offset, last.offset + last.sizeBytes);
  const dataRecord = records.find((r) => r.kind === 1)!;
  const tails: Record<string, Buffer> = {
    "random garbage": randomBytes(10_000),
    "one zero byte": Buffer.alloc(1),
    "a truncated copy of the last record": lastRecord.subarray(0, lastRecord.byteLength - 1),
    "a record prefix only": lastRecord.subarray(0, RECORD_PREFIX_SIZE_BYTES + 3),
    "a whole copy of the checkpoint (wrong self offset) and a cut data record": Buffer.concat([
      lastRecord,
      committed.subarray(dataRecord.offset, dataRecord.offset + dataRecord.sizeBytes - 100),
    ]),
  };
  for (const [name, tail] of Object.entries(tails)) {
    fs.writeFileSync(vaultPath, Buffer.concat([committed, tail]));
    await withVault(vaultPath, PASSPHRASE, false, async (reader) => {
      assert.deepEqual(await snapshotNumbers(reader), [1], name);
      const report = await reader.check({ readData: true });
      assert.deepEqual(report.problems, [], name);
      await assertRestores(reader, 1, source, first, dir);
    });
    assert.equal(fs.statSync(vaultPath).size, committed.byteLength + tail.byteLength, "a reader must not change the file");
    await withVault(vaultPath, PASSPHRASE, true, async (writer) => {
      assert.equal(fs.statSync(vaultPath).size, committed.byteLength, `${name}: writer open truncates the tail`);
      // Unchanged source: this backup reads no file, it only commits on top of the truncated log.
      assert.equal((await writer.backup({ paths: [source] })).id, 2, name);
    });
    await withVault(vaultPath, PASSPHRASE, false, async (reopened) => {
      assert.deepEqual(await snapshotNumbers(reopened), [1, 2], name);
      assert.deepEqual((await reopened.check()).problems, []);
      await assertRestores(reopened, 2, source, first, dir);
    });
  }
});

// ---- b) lost superblock write ----

/** Offset of the superblock slot holding the newest sequence (slot = sequence % 2). */
async function newestSuperblockSlot(vaultPath: string): Promise<number> {
  const sequence = await withRawVault(vaultPath, async (vault) => vault.committedSequence);
  return SUPERBLOCK_SLOT_OFFSETS[sequence % 2]!;
}

test("SuedeVault.open: a lost superblock write rolls forward to the durable checkpoint (snapshots 1 and 2)", async (t) => {
  const dir = tempDir(t);
  const { vaultPath, source, states } = await copyOfTwoSnapshots(dir);
  const slot = await newestSuperblockSlot(vaultPath);
  assert.equal(slot, SUPERBLOCK_SLOT_OFFSETS[1], "create = sequence 1, two commits = sequence 3");
  for (const damage of [Buffer.alloc(SUPERBLOCK_SLOT_SIZE_BYTES), randomBytes(200)]) {
    patchFile(vaultPath, slot, damage);
    await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
      assert.deepEqual(await snapshotNumbers(vault), [1, 2]);
      assert.deepEqual((await vault.check({ readData: true })).problems, []);
      await assertRestores(vault, 1, source, states[0]!, dir);
      await assertRestores(vault, 2, source, states[1]!, dir);
    });
  }
});

test("SuedeVault.backup: commits after a roll-forward over a lost superblock write, and the next open sees it", async (t) => {
  const dir = tempDir(t);
  const { vaultPath, source, states } = await copyOfTwoSnapshots(dir);
  patchFile(vaultPath, await newestSuperblockSlot(vaultPath), Buffer.alloc(SUPERBLOCK_SLOT_SIZE_BYTES));
  // The source is unchanged since snapshot 2: the backup reads no file, only commits.
  assert.equal(await backupOnce(vaultPath, source), 3);
  await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
    assert.deepEqual(await snapshotNumbers(vault), [1, 2, 3]);
    assert.deepEqual(vault.warnings, []);
    assert.deepEqual((await vault.check()).problems, []);
    await assertRestores(vault, 3, source, states[1], dir);
  });
  // Lose the newest superblock write once more: still rolls forward to snapshot 3.
  patchFile(vaultPath, await newestSuperblockSlot(vaultPath), Buffer.alloc(SUPERBLOCK_SLOT_SIZE_BYTES));
  await withVault(vaultPath, PASSPHRASE, false, async (again) => {
    assert.deepEqual(await snapshotNumbers(again), [1, 2, 3]);
  });
});

// ---- c) both superblocks destroyed ----

test("SuedeVault.open: with both superblocks destroyed, scans the log, lists both snapshots and warns", async (t) => {
  const dir = tempDir(t);
  const { vaultPath, source, states } = await copyOfTwoSnapshots(dir);
  for (const slot of SUPERBLOCK_SLOT_OFFSETS) patchFile(vaultPath, slot, Buffer.alloc(SUPERBLOCK_SLOT_SIZE_BYTES));
  await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
    assert.deepEqual(await snapshotNumbers(vault), [1, 2]);
    assert.ok(vault.warnings.some((w) => /scanned the log/.test(w)), `warnings: ${vault.warnings.join("; ")}`);
    assert.deepEqual((await vault.check({ readData: true })).problems, []);
    await assertRestores(vault, 1, source, states[0]!, dir);
    await assertRestores(vault, 2, source, states[1]!, dir);
  });
});

test("SuedeVault.backup: commits after both superblocks were destroyed, which restores a superblock", async (t) => {
  const dir = tempDir(t);
  const { vaultPath, source, states } = await copyOfTwoSnapshots(dir);
  for (const slot of SUPERBLOCK_SLOT_OFFSETS) patchFile(vaultPath, slot, Buffer.alloc(SUPERBLOCK_SLOT_SIZE_BYTES));
  assert.equal(await backupOnce(vaultPath, source), 3);
  await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
    assert.deepEqual(await snapshotNumbers(vault), [1, 2, 3]);
    assert.deepEqual(vault.warnings, [], "the commit wrote a valid superblock again");
    await assertRestores(vault, 3, source, states[1], dir);
  });
});

// ---- d) header copies ----

test("SuedeVault.open: one header copy zeroed opens with a warning; both zeroed is NOT_A_VAULT; a flipped bit in copy 0's slots opens via copy 1", async (t) => {
  const dir = tempDir(t);
  const { vaultPath, source, states } = await copyOfTwoSnapshots(dir);
  const pristine = fs.readFileSync(vaultPath);
  for (const copy of [0, 1] as const) {
    fs.writeFileSync(vaultPath, pristine);
    patchFile(vaultPath, HEADER_COPY_OFFSETS[copy], Buffer.alloc(HEADER_COPY_SIZE_BYTES));
    await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
      assert.equal(vault.warnings.length, 1, `copy ${copy} zeroed: ${vault.warnings.join("; ")}`);
      assert.match(vault.warnings[0]!, /header copy damaged/);
      assert.deepEqual(await snapshotNumbers(vault), [1, 2]);
    });
  }
  fs.writeFileSync(vaultPath, pristine);
  for (const offset of HEADER_COPY_OFFSETS) patchFile(vaultPath, offset, Buffer.alloc(HEADER_COPY_SIZE_BYTES));
  await assert.rejects(openVault(vaultPath), isCode("NOT_A_VAULT"));
  await assert.rejects(openVault(vaultPath, true), isCode("NOT_A_VAULT"));
  assert.equal(fs.existsSync(`${vaultPath}.lock`), false, "a failed writer open releases its lock");

  const random = seededRandom(SEED);
  for (let i = 0; i < 5; i++) {
    fs.writeFileSync(vaultPath, pristine);
    // Anywhere in the eight 128-byte key slots of copy 0.
    const bit = (HEADER_FIXED_SIZE_BYTES + random(8 * 128)) * 8 + random(8);
    flipBit(vaultPath, bit);
    await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
      assert.equal(vault.warnings.length, 1);
      assert.match(vault.warnings[0]!, /copy 0 checksum mismatch/);
      assert.deepEqual(await snapshotNumbers(vault), [1, 2]);
      await assertRestores(vault, 2, source, states[1]!, dir);
    });
  }
});

test("SuedeVault.open: header copies swapped between slots 0 and 1 are both misplaced: VAULT_CORRUPT", async (t) => {
  const dir = tempDir(t);
  const { vaultPath } = await copyOfTwoSnapshots(dir);
  const bytes = fs.readFileSync(vaultPath);
  const copy0 = Buffer.from(bytes.subarray(0, HEADER_COPY_SIZE_BYTES));
  bytes.copy(bytes, 0, HEADER_COPY_OFFSETS[1], HEADER_COPY_OFFSETS[1] + HEADER_COPY_SIZE_BYTES);
  copy0.copy(bytes, HEADER_COPY_OFFSETS[1]);
  fs.writeFileSync(vaultPath, bytes);
  await assert.rejects(openVault(vaultPath), (error: unknown) => {
    assert.ok(error instanceof SuedeError && error.code === "VAULT_CORRUPT", String(error));
    assert.match(error.message, /misplaced/);
    return true;
  });
});

test("SuedeVault.open: a damaged index record is rebuilt from the log with a warning; reads work, writers refuse", async (t) => {
  const dir = tempDir(t);
  const { vaultPath, source, states } = await copyOfTwoSnapshots(dir);
  const span = await withRawVault(vaultPath, async (vault) => vault.indexRecordSpans[vault.indexRecordSpans.length - 1]!);
  // A bit in the sealed body: the record header still authenticates, the body does not.
  flipBit(vaultPath, (span.offset + RECORD_PREFIX_SIZE_BYTES + 5) * 8 + 1);
  await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
    assert.ok(vault.warnings.some((w) => /index record damaged/.test(w)), vault.warnings.join("; "));
    assert.deepEqual(await snapshotNumbers(vault), [1, 2]);
    // Every blob is fine; the damage itself is the one problem, and check --repair can fix it.
    const report = await vault.check({ readData: true });
    assert.deepEqual(report.problems.map((p) => p.message.replace(/:.*/s, "")), ["index records are damaged (the index was rebuilt in memory from the log)"]);
    assert.deepEqual(report.repairable, ["rewrite the index from the log"]);
    await assertRestores(vault, 1, source, states[0], dir);
    await assertRestores(vault, 2, source, states[1], dir);
  });
  await assert.rejects(openVault(vaultPath, true), isCode("VAULT_CORRUPT"));
});

test("SuedeVault.open: a damaged newest checkpoint falls back to the previous one, warns, and writers refuse", async (t) => {
  const dir = tempDir(t);
  const { vaultPath, source, states } = await copyOfTwoSnapshots(dir);
  const checkpointOffset = await withRawVault(vaultPath, async (vault) => vault.checkpointOffset);
  flipBit(vaultPath, (checkpointOffset + RECORD_PREFIX_SIZE_BYTES + 2) * 8);
  await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
    assert.ok(vault.warnings.some((w) => /checkpoint 3 is damaged/.test(w)), vault.warnings.join("; "));
    assert.deepEqual(await snapshotNumbers(vault), [1]);
    // The lost commit is the one problem (snapshot 1 is whole), and check --repair can recommit.
    assert.deepEqual((await vault.check()).problems.map((p) => p.message), ["the committed state is damaged: checkpoint 3 is damaged: record body fails authentication (offset " + checkpointOffset + ")"]);
    await assertRestores(vault, 1, source, states[0], dir);
  });
  await assert.rejects(openVault(vaultPath, true), isCode("VAULT_CORRUPT"));
});

// ---- e) truncation after the last commit ----

test("SuedeVault.open: every cut of the log between commit 1 and commit 2 opens at snapshot 1 or 2 and restores byte-exact", async (t) => {
  t.diagnostic(SEED_NOTE);
  const dir = tempDir(t);
  const vaultPath = path.join(dir, "v.suede");
  const source = path.join(dir, "src");
  await createVault(vaultPath);
  const state1 = writeFiles(source, { "a.bin": 30_000, "b.txt": Buffer.from("bee\n"), "sub/c.bin": 100_000 });
  await backupOnce(vaultPath, source);
  const before = fs.readFileSync(vaultPath);
  const s1 = before.byteLength;
  const state2 = new Map([...state1, ...writeFiles(source, { "a.bin": 20_000, "sub/d.bin": 200_000, "e.bin": 50_000 })]);
  await backupOnce(vaultPath, source);
  const final = fs.readFileSync(vaultPath);
  const s2 = final.byteLength;
  const records = (await recordOffsets(vaultPath)).filter((r) => r.offset >= s1);
  assert.ok(records.length >= 6, `expected several records in commit 2, got ${records.length}`);
  const cuts = new Set<number>([s1, s1 + 1, s2 - 1, s2]);
  for (const r of records) for (const delta of [-1, 0, 1, RECORD_PREFIX_SIZE_BYTES]) cuts.add(Math.min(s2, Math.max(s1, r.offset + delta)));
  const random = seededRandom(SEED ^ 0xe);
  for (let i = 0; i < 12; i++) cuts.add(s1 + random(s2 - s1 + 1));
  t.diagnostic(`${cuts.size} cuts between ${s1} and ${s2}, ${records.length} records`);

  const expected = [state1, state2];
  const verified = new Set<string>();
  const cutPath = path.join(dir, "cut.suede");
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    // As a crash leaves it: the log cut at `cut`, the superblocks as before commit 2 (they are
    // written only after the checkpoint is durable) — and, at the full length, also the new ones.
    const variants: [string, Buffer][] = [["old superblocks", Buffer.concat([final.subarray(0, cut)])]];
    before.copy(variants[0]![1], SUPERBLOCK_SLOT_OFFSETS[0], SUPERBLOCK_SLOT_OFFSETS[0], LOG_START_OFFSET);
    // A plain prefix of the final file (new superblock pointing past the end): read-only must still work.
    variants.push(["plain prefix", final.subarray(0, cut)]);
    for (const [variant, bytes] of variants) {
      fs.writeFileSync(cutPath, bytes);
      const what = `cut at ${cut} (${variant})`;
      const vault = await openVault(cutPath);
      let numbers: number[];
      try {
        numbers = await snapshotNumbers(vault);
        assert.deepEqual(numbers, cut >= s2 ? [1, 2] : [1], what);
        // A superblock pointing past the end is a lost durable commit: check reports that one
        // problem (check --repair recommits what is left); the snapshots themselves are whole.
        const lost = variant === "plain prefix" && cut < s2 ? [`checkpoint 3 is damaged`] : [];
        assert.deepEqual((await vault.check()).problems.map((p) => /checkpoint 3 is damaged/.exec(p.message)?.[0] ?? p.message), lost, what);
        for (const n of numbers) {
          // Restoring the same snapshot from the same committed bytes twice proves nothing new.
          const key = `${n}:${cut >= s2 ? "full" : "s1"}:${variant}`;
          if (verified.has(key) && random(4) !== 0) continue;
          verified.add(key);
          await assertRestores(vault, n, source, expected[n - 1]!, dir);
        }
      } finally {
        await vault.close();
      }
      if (variant === "plain prefix" && cut < s2) {
        // The newest superblock names a checkpoint past the end: committed data is missing, writers refuse.
        await assert.rejects(openVault(cutPath, true), isCode("VAULT_CORRUPT"));
        assert.equal(fs.existsSync(`${cutPath}.lock`), false);
      }
      if (variant === "old superblocks") {
        // A crash state: the next writer opens, cuts the tail back to the last commit, and may write.
        const writer = await openVault(cutPath, true);
        await writer.close();
        assert.equal(fs.statSync(cutPath).size, cut >= s2 ? s2 : s1, `${what}: writer truncates to the last commit`);
      }
    }
  }
});

// ---- g) bit flip in a data record ----

test("SuedeVault.check/restore: a flipped bit in a committed data record is reported by snapshot and path, other files restore byte-exact", async (t) => {
  t.diagnostic(SEED_NOTE);
  const dir = tempDir(t);
  const vaultPath = path.join(dir, "v.suede");
  const source = path.join(dir, "src");
  await createVault(vaultPath);
  // Each file is below the minimum chunk size: one data blob named by its whole content.
  const contents = writeFiles(source, { "keep-1.bin": 9000, "victim.bin": 12_000, "dir/keep-2.bin": 3000 });
  await backupOnce(vaultPath, source);
  const victim = await withRawVault(vaultPath, async (vault) => vault.blobIndex.get(vault.blobId(contents.get("victim.bin")!))!);
  assert.ok(victim !== undefined);
  const random = seededRandom(SEED ^ 0x9);
  // Inside the sealed body (past the 80-byte prefix), so the record header still authenticates.
  const bodyByte = RECORD_PREFIX_SIZE_BYTES + random(victim.recordLength - RECORD_PREFIX_SIZE_BYTES);
  flipBit(vaultPath, (victim.offset + bodyByte) * 8 + random(8));

  await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
    const structural = await vault.check();
    assert.deepEqual(structural.problems, [], "check without readData does not read data bodies");
    const full = await vault.check({ readData: true });
    assert.equal(full.problems.length, 1, JSON.stringify(full.problems));
    const problem = full.problems[0]!;
    assert.equal(problem.snapshot, 1);
    assert.equal(problem.path, path.join(source, "victim.bin"));
    assert.match(problem.message, /file content damaged/);
    const { contents: restored, failed } = await restoreContents(vault, 1, source, dir);
    assert.equal(failed.length, 1, JSON.stringify(failed));
    assert.ok(failed[0]!.path.endsWith(path.join(source, "victim.bin")), failed[0]!.path);
    const others = new Map([...contents].filter(([rel]) => rel !== "victim.bin"));
    assertSameContents(restored, others, "restore around the damaged file");
  });
});

test("SuedeVault.check: a flipped bit in a data record's header is found without readData", async (t) => {
  const dir = tempDir(t);
  const vaultPath = path.join(dir, "v.suede");
  const source = path.join(dir, "src");
  await createVault(vaultPath);
  const contents = writeFiles(source, { "x.bin": 5000, "y.bin": 6000 });
  await backupOnce(vaultPath, source);
  const location = await withRawVault(vaultPath, async (vault) => vault.blobIndex.get(vault.blobId(contents.get("y.bin")!))!);
  flipBit(vaultPath, (location.offset + 20) * 8 + 3);
  await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
    const report = await vault.check();
    assert.equal(report.problems.length, 1, JSON.stringify(report.problems));
    assert.equal(report.problems[0]!.snapshot, 1);
    assert.equal(report.problems[0]!.path, path.join(source, "y.bin"));
  });
});

// ---- h) two writers ----

test("SuedeVault.open: a second writer gets VAULT_LOCKED; readers are not blocked; the lock is released on close", async (t) => {
  const dir = tempDir(t);
  const vaultPath = path.join(dir, "v.suede");
  await createVault(vaultPath);
  await withVault(vaultPath, PASSPHRASE, true, async (first) => {
    await assert.rejects(openVault(vaultPath, true), isCode("VAULT_LOCKED"));
    const reader = await openVault(vaultPath);
    await reader.close();
  });
  const second = await openVault(vaultPath, true);
  await second.close();
  assert.equal(fs.existsSync(`${vaultPath}.lock`), false);
});

test("SuedeVault.backup: a second writer that got past the lock (see lock.test.ts race) cannot destroy the first writer's commit", async (t) => {
  const dir = tempDir(t);
  const vaultPath = path.join(dir, "v.suede");
  const first = path.join(dir, "first");
  const second = path.join(dir, "second");
  // Empty directories: both backups write only tree and snapshot records, no file workers needed.
  fs.mkdirSync(first);
  fs.mkdirSync(second);
  await createVault(vaultPath);
  const a = await openVault(vaultPath, true);
  // What the stale-lock race in VaultLock.acquire ends in: the lock file of A is gone.
  fs.unlinkSync(`${vaultPath}.lock`);
  const b = await openVault(vaultPath, true);
  try {
    assert.equal((await a.backup({ paths: [first] })).id, 1);
    await assert.rejects(b.backup({ paths: [second] }), isCode("VAULT_CHANGED"));
  } finally {
    await a.close();
    await b.close();
  }
  await withVault(vaultPath, PASSPHRASE, false, async (vault) => {
    assert.deepEqual(await snapshotNumbers(vault), [1], "the snapshot A was told is saved must survive");
    assert.deepEqual((await vault.check({ readData: true })).problems, []);
    assert.deepEqual(vault.warnings, []);
  });
});

// SIGKILL at random moments of the real CLI: test/fault/kill-loops.test.ts.
