// Goal: WalkBudget lets a walk meet exactly what a backup counted (plus the uncounted synthetic root
// and source-path ancestors) and stops the first entry past it. Method: spend by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VaultCorruptError } from "../errors/errors.ts";
import { TreeBudgetError, WalkBudget } from "./walk-budget.ts";

const stats = (files: number, dirs: number) => ({ files, dirs, sizeBytes: 0, filesNew: 0, filesChanged: 0, filesUnchanged: 0, bytesRead: 0, bytesAdded: 0, durationMs: 0, skipped: 0 });

test("WalkBudget.spend: the recorded files pass and the next one throws a VaultCorruptError naming the snapshot", () => {
  const budget = new WalkBudget({ number: 7, paths: ["/home/u/src"], stats: stats(3, 0) });
  for (let i = 0; i < 3; i++) budget.spend({ type: "file" });
  for (let i = 0; i < 100; i++) budget.spend({ type: "symlink" }); // not counted by backup, not budgeted
  assert.throws(() => budget.spend({ type: "file" }), (error: unknown) => error instanceof TreeBudgetError && error instanceof VaultCorruptError && /snapshot 7 holds more than the 3 files it recorded/.test(error.message));
});

test("WalkBudget.spend: directories get the recorded count plus each source path's ancestors and a small slack, no more", () => {
  const budget = new WalkBudget({ number: 1, paths: ["/a/b/c", "/d"], stats: stats(0, 10) });
  let passed = 0;
  assert.throws(() => {
    for (;;) {
      budget.spend({ type: "dir" });
      passed++;
    }
  }, TreeBudgetError);
  // 10 recorded + 4 ancestors (a, b, c, d) + 16 slack.
  assert.equal(passed, 30);
});
