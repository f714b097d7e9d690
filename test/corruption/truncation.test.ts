// Goal: RELIABILITY.md T05, truncation at every offset: a vault cut anywhere (a lost tail of the file)
// either fails to open with a SuedeError, or opens at an earlier commit — listing snapshots 1..k, never a
// gap — whose check reports the loss, and then never restores a wrong byte: each snapshot it lists
// restores byte-exact or names what it could not restore. Method: five snapshots of small trees, then
// seeded offsets over the whole file plus every record boundary ±1 of the last commit, in-process.
// SUEDE_FUZZ_RUNS scales the number of random offsets (default 100 plus ~20 boundaries, about 30 s on the
// shared 2-core box; SUEDE_FUZZ_RUNS=3 gives the plan's 300).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeError, SuedeVault } from "../../src/index.ts";
import { compareTrees } from "../helpers/compare-trees.ts";
import { Prng } from "../helpers/prng.ts";
import { TEST_KDF, makeTree, scratchDir } from "../fault/harness.ts";
import { FUZZ_SEED, SEED_NOTE, runs } from "../fuzz/seed.ts";

const SECRET = { passphrase: "truncate" };

test(`truncation at every offset: a clean error, or an earlier commit that check reports and that restores only right bytes (${SEED_NOTE})`, { timeout: 600_000 }, async (t) => {
  const scratch = await scratchDir("truncate");
  t.after(scratch.remove);
  const prng = new Prng(FUZZ_SEED);
  const vaultPath = join(scratch.path, "v.suede");
  await SuedeVault.create(vaultPath, { secret: SECRET, kdf: TEST_KDF });
  const sources: string[] = [];
  const sizes: number[] = [];
  for (let n = 1; n <= 5; n++) {
    const source = join(scratch.path, `src${n}`);
    makeTree(source, prng, { files: 4, maxFileBytes: 40_000 });
    const vault = await SuedeVault.open(vaultPath, { secret: SECRET, writable: true });
    try {
      assert.equal((await vault.backup({ paths: [source] })).id, n);
    } finally {
      await vault.close();
    }
    sources.push(source);
    sizes.push(readFileSync(vaultPath).length);
  }
  const full = readFileSync(vaultPath);
  const offsets = new Set<number>([0, 1, 4095, 4096, 8192, 16384, full.length - 1]);
  for (const size of sizes) for (const delta of [-1, 0, 1]) if (size + delta < full.length) offsets.add(size + delta);
  for (let i = 0; i < runs(100); i++) offsets.add(prng.below(full.length));

  const cut = join(scratch.path, "cut.suede");
  const target = join(scratch.path, "restore");
  const outcomes = { refused: 0, opened: 0 };
  for (const offset of [...offsets].sort((a, b) => a - b)) {
    const what = `cut at ${offset} of ${full.length}`;
    writeFileSync(cut, full.subarray(0, offset));
    let vault: SuedeVault;
    try {
      vault = await SuedeVault.open(cut, { secret: SECRET, writable: false });
    } catch (error) {
      assert.ok(error instanceof SuedeError, `${what}: ${String(error)}`);
      outcomes.refused++;
      continue;
    }
    outcomes.opened++;
    try {
      const numbers = (await vault.listSnapshots()).map((s) => s.number);
      assert.deepEqual(numbers, numbers.map((_, i) => i + 1), `${what}: snapshots 1..k, no gap`);
      // Every cut loses committed bytes (there is no uncommitted tail here), so check must say so.
      const report = await vault.check({ readData: true });
      assert.ok(report.problems.length > 0, `${what}: check reports nothing`);
      for (const number of numbers) {
        mkdirSync(target, { recursive: true });
        try {
          const restored = await vault.restore(number, { target });
          const source = sources[number - 1]!;
          const differences = await compareTrees(source, join(target, source));
          // With nothing named, the restore is exact; otherwise entries may be missing, never wrong.
          if (restored.failed.length === 0) assert.deepEqual(differences, [], `${what}: snapshot ${number}`);
          else assert.ok(differences.every((d) => /only in source$/.test(d)), `${what}: snapshot ${number}: ${differences.join("; ")}`);
        } catch (error) {
          assert.ok(error instanceof SuedeError, `${what}: restore ${number}: ${String(error)}`);
        } finally {
          rmSync(target, { recursive: true, force: true });
        }
      }
    } finally {
      await vault.close();
    }
  }
  t.diagnostic(`${offsets.size} cuts: ${outcomes.refused} refused at open, ${outcomes.opened} opened at an earlier commit`);
});
