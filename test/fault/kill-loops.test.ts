// Goal: SIGKILL at any instant of backup, prune/forget --prune and key add/passwd/remove loses nothing:
// the vault opens, check is clean, every snapshot committed before the kill restores byte-exact, the
// operation succeeds when run again, and a killed key change leaves exactly the old or the new set of
// working secrets. Method: the built CLI (dist/cli/main.js) in a child, killed after a seeded random
// delay drawn from the measured length of an undisturbed run; verification in-process (harness.ts).
// Rekey has its own kill loop in test/rekey.test.ts. Counts: 50 kills per operation; SUEDE_KILL_LOOPS
// raises (or lowers) them, SUEDE_FAULT_SEED replays a run.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { FAST_KDF, PASSPHRASE, suedeOk } from "../helpers/cli.ts";
import { Prng } from "../helpers/prng.ts";
import { CommittedSnapshots, KillTally, KillWindow, TEST_KDF, faultFixture, killCount, makeTree, runAndKill, timeRun, withVault } from "./harness.ts";

const SECRET = { passphrase: PASSPHRASE };
const TIMEOUT = { timeout: 600_000 };

/** A delay uniform in [from × typical, 1.1 × typical): spread over start-up, the work and the commit. */
test("kill-backup: 50 backups killed at random moments; after each the vault checks clean, every committed snapshot restores byte-exact and the backup reruns", TIMEOUT, async (t) => {
  const { seed, prng, dir, vault } = await faultFixture(t, "kill-backup");
  // Four immutable source versions (the next one shares most files with the previous: dedup runs).
  const versions: string[] = [];
  for (let i = 0; i < 4; i++) {
    const root = join(dir, `src${i}`);
    makeTree(root, new Prng(seed + (i >> 1)), { files: 20, maxFileBytes: 96 * 1024 });
    if (i % 2 === 1) makeTree(join(root, "extra"), prng, { files: 6, maxFileBytes: 64 * 1024 });
    versions.push(root);
  }
  const committed = new CommittedSnapshots(dir, SECRET);
  const killWindow = new KillWindow(await timeRun(() => suedeOk(["backup", vault, versions[0]!])));
  await committed.verify(vault, "first backup");
  const tally = new KillTally();
  const kills = killCount(50);
  for (let round = 0; tally.killed < kills; round++) {
    assert.ok(round < kills * 4, `only ${tally.killed} of ${kills} kills landed mid-run in ${round} rounds`);
    const what = `round ${round}`;
    const source = prng.pick(versions);
    const before = committed.sources.size;
    const outcome = await runAndKill(["backup", vault, source], killWindow.delay(prng));
    tally.note(outcome);
    killWindow.note(outcome);
    if (!outcome.killed) assert.equal(outcome.result.code, 0, `${what}: ${outcome.result.stderr}`);
    await committed.verify(vault, what, { restore: "new-and-one", prng });
    if (outcome.killed) tally.committedByKilled += committed.sources.size - before;
    // The interrupted backup, run again, succeeds (the dead writer's lock does not block it).
    if (outcome.killed) {
      await suedeOk(["backup", vault, source]);
      await committed.verify(vault, `${what} rerun`, { restore: "new-and-one", prng });
    }
  }
  await committed.verify(vault, "end", { restore: "all", readData: true });
  t.diagnostic(tally.summary("kill-backup", seed));
});

test("kill-prune: 50 prunes (and forget --prune) of a vault with many records killed at random moments lose no kept snapshot; prune reruns", TIMEOUT, async (t) => {
  const { seed, prng, dir, vault } = await faultFixture(t, "kill-prune");
  const committed = new CommittedSnapshots(dir, SECRET);
  let generation = 0;
  // Each new source keeps half of the previous one's files, so prune both drops and moves records.
  const addSnapshot = async (): Promise<void> => {
    const root = join(dir, `src${generation++}`);
    makeTree(root, new Prng(seed + generation), { files: 40, maxFileBytes: 48 * 1024 });
    const result = await withVault(vault, PASSPHRASE, true, (open) => open.backup({ paths: [root] }));
    committed.sources.set(result.id!, root);
  };
  const forget = async (numbers: number[]): Promise<void> => {
    await withVault(vault, PASSPHRASE, true, (open) => open.forget(numbers));
    for (const n of numbers) committed.sources.delete(n);
  };
  for (let i = 0; i < 6; i++) await addSnapshot();
  await forget([1, 2]);
  const killWindow = new KillWindow(await timeRun(() => suedeOk(["prune", vault])));
  const tally = new KillTally();
  const kills = killCount(50);
  for (let round = 0; tally.killed < kills; round++) {
    assert.ok(round < kills * 4, `only ${tally.killed} of ${kills} kills landed mid-run in ${round} rounds`);
    const what = `round ${round}`;
    // New garbage for this round: one more snapshot, and the oldest forgotten (by prune's own
    // forget --prune every other round, so that path is killed too).
    await addSnapshot();
    const oldest = Math.min(...committed.sources.keys());
    const viaForget = round % 2 === 1;
    if (!viaForget) await forget([oldest]);
    const args = viaForget ? ["forget", vault, String(oldest), "--prune"] : ["prune", vault];
    const outcome = await runAndKill(args, killWindow.delay(prng));
    tally.note(outcome);
    killWindow.note(outcome);
    if (!outcome.killed) assert.equal(outcome.result.code, 0, `${what}: ${outcome.result.stderr}`);
    // A forget that finished is visible; one that was killed may or may not have committed.
    if (viaForget) {
      const open = await SuedeVault.open(vault, { secret: SECRET });
      const listed = new Set((await open.listSnapshots()).map((s) => s.number));
      await open.close();
      if (!listed.has(oldest)) committed.sources.delete(oldest);
      else assert.ok(outcome.killed, `${what}: forget exited 0 but snapshot ${oldest} is still there`);
    }
    await committed.verify(vault, what, { restore: "all" });
    await suedeOk(viaForget && committed.sources.has(oldest) ? ["forget", vault, String(oldest), "--prune"] : ["prune", vault]);
    committed.sources.delete(oldest);
    // Every record may have moved: all kept snapshots were restored above; after the rerun, the new
    // layout is authenticated in full every tenth round and sampled otherwise.
    await committed.verify(vault, `${what} rerun`, { restore: "new-and-one", prng, readData: round % 10 === 9 });
  }
  t.diagnostic(tally.summary("kill-prune", seed));
});

/** Which of the given passphrases open the vault. */
async function workingSecrets(vault: string, candidates: readonly string[]): Promise<Set<string>> {
  const working = new Set<string>();
  for (const passphrase of candidates) {
    try {
      await (await SuedeVault.open(vault, { secret: { passphrase } })).close();
      working.add(passphrase);
    } catch (error) {
      if (!(error instanceof Error && /passphrase|key/i.test(error.message))) throw error;
    }
  }
  return working;
}

function sameSet(a: ReadonlySet<string>, b: readonly string[]): boolean {
  return a.size === b.length && b.every((x) => a.has(x));
}

interface KeyOperation {
  readonly name: string;
  /** Brings the vault to the state before the operation (in-process, through the API). */
  readonly reset: (vault: string) => Promise<void>;
  readonly args: (vault: string) => string[];
  readonly env: Record<string, string>;
  readonly unlockWith: string;
  readonly oldSet: readonly string[];
  readonly newSet: readonly string[];
}

const A = PASSPHRASE;
const B = "second secret for the kill loop";

async function setSlots(vault: string, wanted: readonly string[]): Promise<void> {
  // Every state used here contains A or B; open with one that works, add missing, remove extra.
  const working = await workingSecrets(vault, [A, B]);
  const opener = working.has(A) ? A : B;
  const open = await SuedeVault.open(vault, { secret: { passphrase: opener }, writable: true });
  try {
    for (const passphrase of wanted) if (!working.has(passphrase)) await open.addKey({ passphrase }, { kdf: TEST_KDF });
  } finally {
    await open.close();
  }
  for (const passphrase of [A, B]) {
    if (wanted.includes(passphrase) || !working.has(passphrase)) continue;
    const session = await SuedeVault.open(vault, { secret: { passphrase }, writable: true });
    try {
      await session.removeKey();
    } finally {
      await session.close();
    }
  }
  assert.ok(sameSet(await workingSecrets(vault, [A, B]), wanted), `reset to ${wanted.length} slot(s) failed`);
}

const KEY_OPERATIONS: readonly KeyOperation[] = [
  { name: "key add", reset: (v) => setSlots(v, [A]), args: (v) => ["key", "add", v, ...FAST_KDF], env: { SUEDE_NEW_PASSPHRASE: B }, unlockWith: A, oldSet: [A], newSet: [A, B] },
  { name: "key passwd", reset: (v) => setSlots(v, [A]), args: (v) => ["key", "passwd", v, ...FAST_KDF], env: { SUEDE_NEW_PASSPHRASE: B }, unlockWith: A, oldSet: [A], newSet: [B] },
  { name: "key remove", reset: (v) => setSlots(v, [A, B]), args: (v) => ["key", "remove", v], env: {}, unlockWith: B, oldSet: [A, B], newSet: [A] },
];

for (const operation of KEY_OPERATIONS) {
  test(`kill-keys: 50 × '${operation.name}' killed at random moments: the working secrets are the old set, the new set or (passwd, between header copies) both, never fewer; data intact; a rerun succeeds`, TIMEOUT, async (t) => {
    const { seed, prng, dir, vault } = await faultFixture(t, "kill-keys", { secret: { passphrase: A } });
    const source = join(dir, "src");
    makeTree(source, prng, { files: 8, maxFileBytes: 32 * 1024 });
    await suedeOk(["backup", vault, source]);
    const committed = new CommittedSnapshots(dir, { passphrase: A });
    await committed.verify(vault, "setup");
    await operation.reset(vault);
    const run = { passphrase: operation.unlockWith, env: operation.env };
    const killWindow = new KillWindow(await timeRun(() => suedeOk(operation.args(vault), run)));
    const tally = new KillTally();
    const outcomes = { old: 0, new: 0, both: 0 };
    const kills = killCount(50);
    for (let round = 0; tally.killed < kills; round++) {
      assert.ok(round < kills * 4, `only ${tally.killed} of ${kills} kills landed mid-run in ${round} rounds`);
      const what = `${operation.name} round ${round}`;
      await operation.reset(vault);
      // A key change is start-up, unlock, then one header write at the very end: aim at the second half.
      const outcome = await runAndKill(operation.args(vault), killWindow.delay(prng, 0.5), run);
      tally.note(outcome);
      killWindow.note(outcome);
      if (!outcome.killed) assert.equal(outcome.result.code, 0, `${what}: ${outcome.result.stderr}`);
      const working = await workingSecrets(vault, [A, B]);
      const isOld = sameSet(working, operation.oldSet);
      const isNew = sameSet(working, operation.newSet);
      // Killed between the two header copies, a changed secret works beside the old one (GUARANTEES.md).
      const isBoth = sameSet(working, [...new Set([...operation.oldSet, ...operation.newSet])]);
      assert.ok(isOld || isNew || isBoth, `${what}: working secrets are {${[...working].map((s) => (s === A ? "A" : "B")).join(",")}}: neither the old, the new nor both sets`);
      if (!outcome.killed) assert.ok(isNew, `${what}: the command succeeded but the old secrets are still in place`);
      outcomes[isNew ? "new" : isOld ? "old" : "both"]++;
      // Data is untouched, whichever secret opens it (A is in every set but passwd's new one).
      committed.secretFor(working.has(A) ? A : B);
      await committed.verify(vault, what, { restore: round % 10 === 0 ? "all" : "new-and-one", prng });
      if (!isNew) {
        await suedeOk(operation.args(vault), run);
        assert.ok(sameSet(await workingSecrets(vault, [A, B]), operation.newSet), `${what}: the rerun did not reach the new set`);
      }
    }
    t.diagnostic(`${tally.summary(operation.name, seed)}; left at the old set ${outcomes.old}×, at the new set ${outcomes.new}×, with both ${outcomes.both}×`);
  });
}
