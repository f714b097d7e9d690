// Goal: RELIABILITY.md T12, asserted as a documented limitation: suede keeps no local state outside the
// vault file, so a file replaced by an older copy of itself (or cut back to an earlier commit) opens
// without a word, and the next backup takes a snapshot number the lost snapshots had. Should rollback
// detection be added, this test must change with it. Method: library sessions on copies of one vault.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../src/index.ts";
import { TEST_KDF, scratchDir } from "./fault/harness.ts";

const SECRET = { passphrase: "rollback" };

async function backupOf(vaultPath: string, source: string, content: string): Promise<number> {
  writeFileSync(join(source, "file.txt"), content);
  const vault = await SuedeVault.open(vaultPath, { secret: SECRET, writable: true });
  try {
    const result = await vault.backup({ paths: [source] });
    assert.ok(result.id !== null);
    return result.id;
  } finally {
    await vault.close();
  }
}

async function state(vaultPath: string): Promise<{ numbers: number[]; warnings: readonly string[]; problems: string[] }> {
  const vault = await SuedeVault.open(vaultPath, { secret: SECRET, writable: false });
  try {
    const numbers = (await vault.listSnapshots()).map((s) => s.number);
    const problems = (await vault.check({ readData: true })).problems.map((p) => p.message);
    return { numbers, warnings: vault.warnings, problems };
  } finally {
    await vault.close();
  }
}

test("a copy of the vault from before the last snapshots opens silently, checks clean, and reuses their numbers (no local state: rollback is not detected); a cut back to that commit is reported", async (t) => {
  const scratch = await scratchDir("rollback");
  t.after(scratch.remove);
  const vaultPath = join(scratch.path, "v.suede");
  const source = join(scratch.path, "src");
  mkdirSync(source);
  await SuedeVault.create(vaultPath, { secret: SECRET, kdf: TEST_KDF });
  for (const n of [1, 2, 3]) assert.equal(await backupOf(vaultPath, source, `version ${n}\n`), n);
  const afterThree = join(scratch.path, "after-3.suede");
  copyFileSync(vaultPath, afterThree);
  const sizeAfterThree = readFileSync(afterThree).length;
  for (const n of [4, 5]) assert.equal(await backupOf(vaultPath, source, `version ${n}\n`), n);
  assert.deepEqual((await state(vaultPath)).numbers, [1, 2, 3, 4, 5]);

  // The file replaced by its older copy: no warning, no problem, snapshots 4 and 5 are simply gone.
  const replaced = join(scratch.path, "replaced.suede");
  copyFileSync(afterThree, replaced);
  assert.deepEqual(await state(replaced), { numbers: [1, 2, 3], warnings: [], problems: [] });
  assert.equal(await backupOf(replaced, source, "after the rollback\n"), 4, "number 4 is given again");

  // The file cut back to the end of commit 3 is different: the superblocks still name the lost commits, so
  // the vault opens at commit 3 and check reports the committed state as damaged.
  const cut = join(scratch.path, "cut.suede");
  copyFileSync(vaultPath, cut);
  truncateSync(cut, sizeAfterThree);
  const cutState = await state(cut);
  assert.deepEqual(cutState.numbers, [1, 2, 3]);
  assert.equal(cutState.problems.length, 1, cutState.problems.join("; "));
  assert.match(cutState.problems[0]!, /committed state is damaged: checkpoint \d+ is damaged/);
});
