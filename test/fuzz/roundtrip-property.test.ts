// Goal: RELIABILITY.md T37, the backup/restore round trip as a property: for fast-check generated trees
// (sizes at the chunker's bounds 16 KiB / 64 KiB / 256 KiB ± 1 and random, raw-byte names, modes with
// setuid/setgid/sticky, microsecond mtimes, symlinks with raw targets, hard links, empty directories) a
// restore equals the source in bytes, names, types, modes, mtimes, link targets and hard-link groups.
// Method: one vault through the library, one snapshot per case, compareTrees; SUEDE_FUZZ_RUNS scales the
// case count (default 20: about 40 s on the shared 2-core box; SUEDE_FUZZ_RUNS=10 gives the plan's 200).
// xattrs are not generated: node:fs has no xattr call to make them.
import assert from "node:assert/strict";
import { link, lutimes, mkdir, rm, symlink, chmod, writeFile, lstat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { SuedeVault } from "../../src/index.ts";
import { compareTrees } from "../helpers/compare-trees.ts";
import { Prng } from "../helpers/prng.ts";
import { TEST_KDF, scratchDir } from "../fault/harness.ts";
import { FUZZ_SEED, SEED_NOTE, runs } from "./seed.ts";

const SECRET = { passphrase: "round trip" };
const EDGE_SIZES = [0, 1, 16383, 16384, 16385, 65535, 65536, 65537, 262143, 262144, 262145];
const isRoot = process.getuid?.() === 0;

/** A name: 1–12 raw bytes, no NUL or '/', not '.' or '..' (any other byte, UTF-8 or not). */
const nameArb = fc
  .uint8Array({ minLength: 1, maxLength: 12, min: 1, max: 255 })
  .map((bytes) => Buffer.from(bytes.map((b) => (b === 0x2f ? 0x5f : b))))
  .filter((name) => name.toString("latin1") !== "." && name.toString("latin1") !== "..");

const entryArb = fc.record({
  parent: fc.array(fc.constantFrom("a", "b", "c\u00e9", "d\n"), { maxLength: 3 }),
  name: nameArb,
  kind: fc.constantFrom("file", "file", "file", "symlink", "hardlink", "dir"),
  size: fc.oneof(fc.constantFrom(...EDGE_SIZES), fc.nat(90_000)),
  mode: fc.constantFrom(0o644, 0o600, 0o755, 0o4755, 0o2750, 0o444, 0o1777, ...(isRoot ? [0o000] : [])),
  mtimeUs: fc.bigInt(1_000_000_000_000_000n, 2_000_000_000_999_999n),
  target: fc.uint8Array({ minLength: 1, maxLength: 40, min: 1, max: 255 }),
  seed: fc.nat(),
});

type Entry = typeof entryArb extends fc.Arbitrary<infer T> ? T : never;

/** seconds.micros → the argument lutimes stores exactly (libuv truncates to microseconds). */
function timeArgument(micros: bigint): number {
  return Number(micros / 1_000_000n) + (Number(micros % 1_000_000n) + 0.5) / 1e6;
}

async function exists(path: Buffer): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Builds the tree; entries that collide with an earlier one are skipped. Directory times are set last. */
async function buildTree(root: string, entries: readonly Entry[]): Promise<void> {
  await mkdir(root, { recursive: true });
  const dirs = new Map<string, bigint>();
  const files: Buffer[] = [];
  for (const entry of entries) {
    let dir = Buffer.from(root);
    let blocked = false;
    for (const part of entry.parent) {
      dir = Buffer.concat([dir, Buffer.from(`/${part}`)]);
      if (!(await exists(dir))) {
        await mkdir(dir);
        dirs.set(dir.toString("latin1"), entry.mtimeUs - 7n);
      } else if (!(await lstat(dir)).isDirectory()) blocked = true;
    }
    const path = Buffer.concat([dir, Buffer.from("/"), entry.name]);
    if (blocked || (await exists(path))) continue;
    const time = timeArgument(entry.mtimeUs);
    if (entry.kind === "dir") {
      await mkdir(path, { mode: 0o755 });
      dirs.set(path.toString("latin1"), entry.mtimeUs);
      continue;
    }
    if (entry.kind === "symlink") {
      await symlink(Buffer.from(entry.target), path);
      await lutimes(path, time, time);
      continue;
    }
    if (entry.kind === "hardlink" && files.length > 0) {
      await link(files[entry.seed % files.length]!, path);
      continue;
    }
    await writeFile(path, new Prng(entry.seed).bytes(entry.size));
    await chmod(path, entry.mode);
    await lutimes(path, time, time);
    files.push(path);
  }
  // Deepest first: creating an entry changes its directory's mtime.
  const ordered = [...dirs.entries()].sort((a, b) => b[0].split("/").length - a[0].split("/").length);
  for (const [dir, micros] of ordered) await lutimes(Buffer.from(dir, "latin1"), timeArgument(micros), timeArgument(micros));
}

test(`round trip property: generated trees restore equal in bytes, names, types, modes, mtimes, links (${SEED_NOTE})`, { timeout: 600_000 }, async (t) => {
  const scratch = await scratchDir("roundtrip");
  t.after(scratch.remove);
  const vaultPath = join(scratch.path, "v.suede");
  await SuedeVault.create(vaultPath, { secret: SECRET, kdf: TEST_KDF });
  const vault = await SuedeVault.open(vaultPath, { secret: SECRET, writable: true });
  let cases = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 12 }), async (entries) => {
        const caseDir = join(scratch.path, `case-${cases++}`);
        const source = join(caseDir, "src");
        const target = join(caseDir, "restored");
        try {
          await buildTree(source, entries);
          const backup = await vault.backup({ paths: [source] });
          assert.ok(backup.id !== null);
          const restored = await vault.restore(backup.id, { target });
          assert.deepEqual(restored.failed, []);
          assert.deepEqual(await compareTrees(source, join(target, source)), []);
        } finally {
          await rm(caseDir, { recursive: true, force: true });
        }
      }),
      { numRuns: runs(20), seed: FUZZ_SEED, endOnFailure: true },
    );
    const report = await vault.check({ readData: true });
    assert.deepEqual(report.problems, []);
  } finally {
    await vault.close();
  }
  t.diagnostic(`${cases} generated trees round-tripped`);
});
