// Goal: a power cut at any moment of `header restore` (onto a vault whose two header copies were
// destroyed) leaves a vault that either still does not open — and the restore run again completes —
// or opens with the backup's passphrase at its last commit, checks clean and restores byte-exact.
// Method: the writes and fdatasyncs of one in-process restore are recorded (crash-sim.ts) and every
// cut at a sync boundary is rebuilt with its unsynced writes applied, dropped or torn.
import assert from "node:assert/strict";
import { closeSync, copyFileSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { SuedeError } from "../../src/errors/errors.ts";
import { compareTrees } from "../helpers/compare-trees.ts";
import { PASSPHRASE } from "../helpers/cli.ts";
import { crashStates, recordFileOps, syncCount } from "./crash-sim.ts";
import { faultFixture, makeTree, withVault } from "./harness.ts";

const VARIANTS = Number.parseInt(process.env["SUEDE_CRASH_VARIANTS"] ?? "6", 10);
const secret = { passphrase: PASSPHRASE };

function zeroHeaders(path: string): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(8192), 0, 8192, 0);
  } finally {
    closeSync(fd);
  }
}

/** The snapshot's tree restored byte-exact, check clean; throws VAULT_CORRUPT/NOT_A_VAULT while the header is still gone. */
async function assertWhole(path: string, source: string, dir: string, what: string): Promise<void> {
  await withVault(path, PASSPHRASE, false, async (vault) => {
    assert.deepEqual((await vault.listSnapshots()).map((s) => s.number), [1], what);
    assert.deepEqual((await vault.check({ readData: true })).problems, [], `${what}: check`);
    const target = join(dir, "restore");
    try {
      assert.deepEqual((await vault.restore(1, { target })).failed, [], what);
      assert.deepEqual(await compareTrees(source, join(target, source)), [], `${what}: not byte-exact`);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });
}

test("crash-sim header restore: every power cut leaves the vault unopened (and a rerun restores it) or whole under the backup's passphrase", { timeout: 300_000 }, async (t) => {
  const { prng, dir, vault, seed } = await faultFixture(t, "header-crash");
  const source = join(dir, "src");
  makeTree(source, prng, { files: 6, maxFileBytes: 40_000 });
  await withVault(vault, PASSPHRASE, true, async (v) => void (await v.backup({ paths: [source] })));
  const backupFile = join(dir, "v.header");
  await SuedeVault.backupHeader(vault, backupFile, { secret });
  zeroHeaders(vault);
  const baseImage = readFileSync(vault);
  const live = join(dir, "live.suede");
  copyFileSync(vault, live);
  const ops = await recordFileOps(live, async () => void (await SuedeVault.restoreHeader(live, backupFile, { secret })));
  assert.equal(syncCount(ops), 2, "copy 0, sync, copy 1, sync");
  assert.ok(ops.every((op) => op.kind !== "write" || op.offset + op.bytes.length <= 8192), "restore writes only the header region");
  const state = join(dir, "state.suede");
  const outcomes = { unopened: 0, whole: 0 };
  for (const crash of crashStates(baseImage, ops, prng, VARIANTS)) {
    const what = `cut after ${crash.syncsDone}/2 syncs (${crash.variant}, seed ${seed})`;
    writeFileSync(state, crash.image);
    rmSync(`${state}.lock`, { force: true });
    try {
      await assertWhole(state, source, dir, what);
      outcomes.whole++;
    } catch (error) {
      if (!(error instanceof SuedeError && (error.code === "VAULT_CORRUPT" || error.code === "NOT_A_VAULT"))) throw error;
      assert.ok(crash.syncsDone === 0, `${what}: copy 0 was durable, yet the vault does not open: ${error.message}`);
      outcomes.unopened++;
      await SuedeVault.restoreHeader(state, backupFile, { secret });
      await assertWhole(state, source, dir, `${what}, restored again`);
    }
  }
  t.diagnostic(`${ops.length} file ops; ${outcomes.unopened} cuts left the header destroyed (rerun restored them), ${outcomes.whole} opened whole`);
});
