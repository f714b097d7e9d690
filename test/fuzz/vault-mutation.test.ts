// Goal: a damaged or tampered vault file never makes suede crash, hang or hand back wrong bytes.
// Method: three vaults with one key: a base with snapshot 1, and copies A and B that each add a
// different snapshot 2. A is then damaged at random (bit flips, byte runs, zeroed blocks,
// truncation, and splices of B's authentic records over A's at the same offsets) and opened,
// listed, restored and checked through the library. Every step must succeed or throw a SuedeError;
// every file restored must hold a version that was really backed up at that path (snapshot 1: the
// base version; snapshot 2: A's or B's). Seed printed; SUEDE_FUZZ_RUNS scales the count.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { SuedeError, SuedeVault } from "../../src/index.ts";
import { Prng } from "../helpers/prng.ts";
import { orSuedeError } from "../helpers/suede-error.ts";
import { FUZZ_SEED, SEED_NOTE, runs } from "./seed.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const secret = { passphrase: "fuzz" };
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let dir = "";
let source = "";
let vaultA = new Uint8Array(0);
let vaultB = new Uint8Array(0);
let baseLength = 0;
/** Per snapshot number: path (relative to the source) → the contents that may be restored there. */
const allowed = new Map<number, Map<string, Set<string>>>();

function randomBytes(prng: Prng, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) bytes.writeUInt32LE(prng.next(), Math.min(i, length - 4));
  return bytes;
}

function recordState(snapshot: number): void {
  const map = allowed.get(snapshot) ?? new Map<string, Set<string>>();
  for (const file of walkFiles(source)) {
    const path = relative(source, file);
    const set = map.get(path) ?? new Set<string>();
    set.add(sha(readFileSync(file)));
    map.set(path, set);
  }
  allowed.set(snapshot, map);
}

function walkFiles(root: string): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const current = stack.pop()!;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) out.push(path);
    }
  }
  return out;
}

async function backupInto(path: string): Promise<void> {
  const vault = await SuedeVault.open(path, { secret, writable: true });
  try {
    await vault.backup({ paths: [source] });
  } finally {
    await vault.close();
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "suede-fuzz-vault-"));
  source = join(dir, "src");
  const prng = new Prng(7);
  mkdirSync(join(source, "sub", "deep"), { recursive: true });
  writeFileSync(join(source, "small.txt"), "hello\n");
  writeFileSync(join(source, "empty"), "");
  writeFileSync(join(source, "random.bin"), randomBytes(prng, 150_000));
  writeFileSync(join(source, "sub", "text.txt"), "line of compressible text\n".repeat(4000));
  writeFileSync(join(source, "sub", "deep", "d.bin"), randomBytes(prng, 9_000));
  const base = join(dir, "base.vault");
  await SuedeVault.create(base, { secret, kdf: KDF });
  await backupInto(base);
  recordState(1);
  baseLength = readFileSync(base).byteLength;

  const a = join(dir, "a.vault");
  const b = join(dir, "b.vault");
  copyFileSync(base, a);
  copyFileSync(base, b);
  writeFileSync(join(source, "small.txt"), "hello from A\n");
  writeFileSync(join(source, "sub", "a-only.bin"), randomBytes(prng, 70_000));
  await backupInto(a);
  recordState(2);
  rmSync(join(source, "sub", "a-only.bin"));
  writeFileSync(join(source, "small.txt"), "hello from B\n");
  writeFileSync(join(source, "sub", "b-only.bin"), randomBytes(prng, 70_000));
  writeFileSync(join(source, "random.bin"), randomBytes(prng, 150_000));
  await backupInto(b);
  recordState(2);
  vaultA = readFileSync(a);
  vaultB = readFileSync(b);
});

after(() => rmSync(dir, { recursive: true, force: true }));

type Damage =
  | { kind: "flip"; offsets: number[]; bits: number[] }
  | { kind: "run"; offset: number; bytes: Uint8Array }
  | { kind: "zero-block"; block: number }
  | { kind: "truncate"; length: number }
  | { kind: "splice"; from: number; length: number };

function damageArb(): fc.Arbitrary<Damage> {
  const size = vaultA.byteLength;
  const offset = fc.oneof(fc.nat({ max: size - 1 }), fc.nat({ max: 16383 }));
  return fc.oneof(
    fc.record({
      kind: fc.constant("flip" as const),
      offsets: fc.array(offset, { minLength: 1, maxLength: 4 }),
      bits: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 4, maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant("run" as const), offset, bytes: fc.uint8Array({ minLength: 1, maxLength: 300 }) }),
    fc.record({ kind: fc.constant("zero-block" as const), block: fc.nat({ max: Math.floor(size / 4096) - 1 }) }),
    fc.record({ kind: fc.constant("truncate" as const), length: fc.nat({ max: size - 1 }) }),
    fc.record({
      kind: fc.constant("splice" as const),
      from: fc.integer({ min: Math.min(baseLength, size - 1), max: Math.min(size, vaultB.byteLength) - 1 }),
      length: fc.integer({ min: 1, max: 200_000 }),
    }),
  );
}

function apply(damage: Damage): Uint8Array {
  const bytes = Buffer.from(vaultA);
  switch (damage.kind) {
    case "flip":
      damage.offsets.forEach((at, i) => (bytes[at]! ^= 1 << damage.bits[i]!));
      return bytes;
    case "run":
      bytes.set(damage.bytes.subarray(0, bytes.byteLength - damage.offset), damage.offset);
      return bytes;
    case "zero-block":
      bytes.fill(0, damage.block * 4096, damage.block * 4096 + 4096);
      return bytes;
    case "truncate":
      return bytes.subarray(0, damage.length);
    case "splice": {
      const end = Math.min(damage.from + damage.length, vaultB.byteLength, bytes.byteLength);
      bytes.set(vaultB.subarray(damage.from, end), damage.from);
      return bytes;
    }
  }
}

const counts = { cases: 0, openRefused: 0, snapshotsRestored: 0, filesVerified: 0, filesReportedDamaged: 0 };

test("damaged and spliced vaults: clean errors, and restored files hold only bytes that were backed up", { timeout: 300_000 }, async () => {
  const workDir = join(dir, "work");
  await fc.assert(
    fc.asyncProperty(damageArb(), async (damage) => {
      counts.cases++;
      rmSync(workDir, { recursive: true, force: true });
      mkdirSync(workDir);
      const path = join(workDir, "v.vault");
      writeFileSync(path, apply(damage));
      const vault = await orSuedeError("open", () => SuedeVault.open(path, { secret }));
      if (vault instanceof SuedeError) {
        counts.openRefused++;
        return;
      }
      try {
        const listing = await orSuedeError("snapshotListing", () => vault.snapshotListing());
        if (listing instanceof SuedeError) return;
        for (const snapshot of listing.snapshots) {
          const target = join(workDir, `restore-${snapshot.number}`);
          const result = await orSuedeError("restore", () => vault.restore(snapshot.number, { target }));
          if (result instanceof SuedeError) continue;
          counts.snapshotsRestored++;
          counts.filesReportedDamaged += result.failed.length;
          const expected = allowed.get(snapshot.number);
          const restoredRoot = join(target, source);
          for (const file of walkFiles(target)) {
            const rel = relative(restoredRoot, file);
            const versions = expected?.get(rel);
            assert.ok(versions !== undefined, `snapshot ${snapshot.number} restored ${rel}, a path never backed up in it`);
            assert.ok(versions.has(sha(readFileSync(file))), `snapshot ${snapshot.number}: ${rel} holds bytes never backed up there (${JSON.stringify(damage)})`);
            counts.filesVerified++;
          }
        }
        await orSuedeError("check", () => vault.check({ readData: true }));
      } finally {
        await vault.close();
      }
    }),
    { seed: FUZZ_SEED, numRuns: runs(150), endOnFailure: true },
  );
  console.log(`# ${SEED_NOTE}`);
  console.log(`# ${JSON.stringify(counts)}`);
});
