// Goal: a power cut at any moment of backup, forget+prune, prune and key add/passwd/remove leaves a
// file that opens at the last commit or the one before it, never loses a snapshot whose commit
// returned, checks clean, restores byte-exact, and takes the next write. Method: the writes and
// fdatasyncs of one real in-process operation are recorded (crash-sim.ts), and every cut at a sync
// boundary is rebuilt with its unsynced writes applied, dropped, torn or garbage-filled.
// SUEDE_CRASH_VARIANTS raises the number of random variants per cut (default 6).
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { compareTrees } from "../helpers/compare-trees.ts";
import { Prng } from "../helpers/prng.ts";
import { type CrashState, crashStates, recordFileOps, syncCount } from "./crash-sim.ts";
import { TEST_KDF, faultSeed, makeTree, scratchDir, withVault } from "./harness.ts";

const A = "crash-sim secret A";
const B = "crash-sim secret B";
const VARIANTS = Number.parseInt(process.env["SUEDE_CRASH_VARIANTS"] ?? "6", 10);
let statesChecked = 0;

async function workingSecrets(path: string): Promise<string[]> {
  const working: string[] = [];
  for (const passphrase of [A, B]) {
    try {
      await withVault(path, passphrase, false, async () => undefined);
      working.push(passphrase);
    } catch (error) {
      if (!(error instanceof Error && /passphrase|key/i.test(error.message))) throw error;
    }
  }
  return working;
}

interface Scenario {
  readonly name: string;
  /** Builds the vault at `path` as it is before the operation; returns snapshot → source dir. */
  readonly setup: (path: string, dir: string, seed: number) => Promise<Map<number, string>>;
  readonly operation: (path: string) => Promise<void>;
  /** The snapshot numbers before and after the operation. */
  readonly before: readonly number[];
  readonly after: readonly number[];
  /** The working secrets before and after. */
  readonly secretsBefore: readonly string[];
  readonly secretsAfter: readonly string[];
  /** The secret the operation unlocks with. */
  readonly unlock: string;
  /** What a writer does next on a crashed file (it must succeed). */
  readonly next: (path: string, sources: Map<number, string>) => Promise<void>;
}

async function backupInto(path: string, source: string, passphrase = A): Promise<number> {
  return withVault(path, passphrase, true, async (vault) => (await vault.backup({ paths: [source] })).id!);
}

/** A vault with snapshots 1..count of distinct but overlapping trees. */
async function vaultWithSnapshots(path: string, dir: string, seed: number, count: number): Promise<Map<number, string>> {
  await SuedeVault.create(path, { secret: { passphrase: A }, kdf: TEST_KDF });
  const sources = new Map<number, string>();
  for (let i = 0; i < count; i++) {
    const root = join(dir, `src${i}`);
    makeTree(root, new Prng(seed + i), { files: 12, maxFileBytes: 24 * 1024 });
    makeTree(join(root, "shared"), new Prng(seed), { files: 6, maxFileBytes: 24 * 1024 });
    sources.set(await backupInto(path, root), root);
  }
  return sources;
}

const noop = async (): Promise<void> => undefined;

const SCENARIOS: readonly Scenario[] = [
  {
    name: "backup",
    setup: async (path, dir, seed) => {
      const sources = await vaultWithSnapshots(path, dir, seed, 1);
      makeTree(join(dir, "next"), new Prng(seed + 99), { files: 16, maxFileBytes: 48 * 1024 });
      return sources;
    },
    operation: async (path) => void (await backupInto(path, join(path, "..", "next"))),
    before: [1],
    after: [1, 2],
    secretsBefore: [A],
    secretsAfter: [A],
    unlock: A,
    next: async (path) => void (await backupInto(path, join(path, "..", "next"))),
  },
  {
    name: "forget+prune",
    setup: (path, dir, seed) => vaultWithSnapshots(path, dir, seed, 3),
    operation: (path) =>
      withVault(path, A, true, async (vault) => {
        await vault.forget([1]);
        await vault.prune();
      }),
    before: [1, 2, 3],
    after: [2, 3],
    secretsBefore: [A],
    secretsAfter: [A],
    unlock: A,
    next: (path) => withVault(path, A, true, async (vault) => void (await vault.prune())),
  },
  {
    name: "prune",
    setup: async (path, dir, seed) => {
      const sources = await vaultWithSnapshots(path, dir, seed, 4);
      await withVault(path, A, true, (vault) => vault.forget([1, 3]));
      return sources;
    },
    operation: (path) => withVault(path, A, true, async (vault) => void (await vault.prune())),
    before: [2, 4],
    after: [2, 4],
    secretsBefore: [A],
    secretsAfter: [A],
    unlock: A,
    next: (path) => withVault(path, A, true, async (vault) => void (await vault.prune())),
  },
  {
    name: "key add",
    setup: (path, dir, seed) => vaultWithSnapshots(path, dir, seed, 1),
    operation: (path) => withVault(path, A, true, async (vault) => void (await vault.addKey({ passphrase: B }, { kdf: TEST_KDF }))),
    before: [1],
    after: [1],
    secretsBefore: [A],
    secretsAfter: [A, B],
    unlock: A,
    next: noop,
  },
  {
    name: "key passwd",
    setup: (path, dir, seed) => vaultWithSnapshots(path, dir, seed, 1),
    operation: (path) => withVault(path, A, true, async (vault) => void (await vault.changeKey({ passphrase: B }, { kdf: TEST_KDF }))),
    before: [1],
    after: [1],
    secretsBefore: [A],
    secretsAfter: [B],
    unlock: A,
    next: noop,
  },
  {
    name: "key remove",
    setup: async (path, dir, seed) => {
      const sources = await vaultWithSnapshots(path, dir, seed, 1);
      await withVault(path, A, true, async (vault) => void (await vault.addKey({ passphrase: B }, { kdf: TEST_KDF })));
      return sources;
    },
    operation: (path) => withVault(path, B, true, async (vault) => void (await vault.removeKey())),
    before: [1],
    after: [1],
    secretsBefore: [A, B],
    secretsAfter: [A],
    unlock: B,
    next: noop,
  },
];

for (const scenario of SCENARIOS) {
  test(`crash-sim ${scenario.name}: every power cut at a sync boundary (unsynced writes applied, dropped, torn) opens at the old or the new commit, never back after a durable commit, and restores byte-exact`, { timeout: 300_000 }, async (t) => {
    const seed = faultSeed();
    const prng = new Prng(seed);
    const dir = await scratchDir("crash-sim");
    t.after(dir.remove);
    const base = join(dir.path, "base.suede");
    const sources = await scenario.setup(base, dir.path, seed);
    const baseImage = readFileSync(base);
    // The operation runs on its own path ("next" lives beside it) so the base stays untouched.
    const live = join(dir.path, "live.suede");
    copyFileSync(base, live);
    const ops = await recordFileOps(live, () => scenario.operation(live));
    const syncs = syncCount(ops);
    assert.ok(syncs >= 1, "the operation synced nothing");
    const state = join(dir.path, "state.suede");
    let newSeenDurable = -1;
    let count = 0;
    const outcomes = { old: 0, new: 0 };
    for (const crash of crashStates(baseImage, ops, prng, VARIANTS)) {
      const what = `${scenario.name}: cut after ${crash.syncsDone}/${syncs} syncs (${crash.variant}, seed ${seed})`;
      writeFileSync(state, crash.image);
      rmSync(`${state}.lock`, { force: true });
      const isNew = await checkState(state, crash, scenario, sources, dir.path, what);
      outcomes[isNew ? "new" : "old"]++;
      // Once the new commit was durable, no later cut may go back to the old state.
      if (crash.variant === "durable-only" && isNew && newSeenDurable < 0) newSeenDurable = crash.syncsDone;
      if (newSeenDurable >= 0 && crash.syncsDone >= newSeenDurable) assert.ok(isNew, `${what}: back at the old state after the new one was durable`);
      // Every sync done = the operation returned: its result must be there (prune changes nothing visible).
      if (crash.syncsDone === syncs && scenario.name !== "prune") assert.ok(isNew, `${what}: the operation returned but its result is missing`);
      // A writer can carry on from every durable cut.
      if (crash.variant === "durable-only" && scenario.next !== noop) {
        await scenario.next(state, sources);
        await checkState(state, crash, scenario, sources, dir.path, `${what}, after the next write`, true);
      }
      // A key change that did not complete, run again with the secret that ran it, completes.
      if (scenario.secretsBefore !== scenario.secretsAfter && !isNew && (await workingSecrets(state)).includes(scenario.unlock)) {
        await scenario.operation(state);
        assert.ok(sameList(await workingSecrets(state), scenario.secretsAfter), `${what}: the rerun did not reach the new set of secrets`);
      }
      count++;
    }
    statesChecked += count;
    t.diagnostic(`${scenario.name}: ${ops.length} file ops, ${syncs} syncs, ${count} crash states checked (${outcomes.old} at the old commit, ${outcomes.new} at the new); seed ${seed} (SUEDE_FAULT_SEED)`);
    t.diagnostic(`crash states checked so far: ${statesChecked}`);
  });
}

/** Opens a crash image, asserts it is the old or the new state, checks and restores; returns whether it is new. */
async function checkState(path: string, crash: CrashState, scenario: Scenario, sources: Map<number, string>, dir: string, what: string, afterNext = false): Promise<boolean> {
  const working = await workingSecrets(path);
  const secretsOld = sameList(working, scenario.secretsBefore);
  const secretsNew = sameList(working, scenario.secretsAfter);
  // Between the two header copies, a changed passphrase works beside the old one (GUARANTEES.md).
  const secretsBoth = sameList(working, [...new Set([...scenario.secretsBefore, ...scenario.secretsAfter])]);
  assert.ok(secretsOld || secretsNew || secretsBoth, `${what}: working secrets {${working.map((s) => s.slice(-1)).join(",")}} are neither the old, the new nor both sets`);
  const numbers = await withVault(path, working[0]!, false, async (vault) => {
    const listed = (await vault.listSnapshots()).map((s) => s.number);
    const report = await vault.check({ readData: true });
    assert.deepEqual(report.problems, [], `${what}: check`);
    for (const number of listed) {
      const source = sources.get(number) ?? join(dir, "next");
      const target = join(dir, "restore");
      try {
        const result = await vault.restore(number, { target });
        assert.deepEqual(result.failed, [], `${what}: restore of ${number}`);
        assert.deepEqual(await compareTrees(source, join(target, source)), [], `${what}: snapshot ${number} is not byte-exact`);
      } finally {
        rmSync(target, { recursive: true, force: true });
      }
    }
    return listed;
  });
  if (afterNext) return true;
  const snapshotsOld = sameList(numbers, scenario.before);
  const snapshotsNew = sameList(numbers, scenario.after);
  assert.ok(snapshotsOld || snapshotsNew, `${what}: snapshots [${numbers.join(",")}] are neither [${scenario.before.join(",")}] nor [${scenario.after.join(",")}]`);
  // Which side the state is on: by snapshots where they differ, else by secrets, else (prune) by nothing visible.
  return scenario.before.length !== scenario.after.length ? snapshotsNew : secretsOld && secretsNew ? false : secretsNew;
}

function sameList(a: readonly (string | number)[], b: readonly (string | number)[]): boolean {
  return a.length === b.length && [...a].sort().join("\u0000") === [...b].sort().join("\u0000");
}

test("crash-sim: a checkpoint that reached the disk without its index record (same unsynced batch, superblock not written) is not rolled forward to; the vault opens writable at the previous commit", async (t) => {
  const dir = await scratchDir("crash-sim-index");
  t.after(dir.remove);
  const path = join(dir.path, "v.suede");
  const sources = await vaultWithSnapshots(path, dir.path, 7, 1);
  makeTree(join(dir.path, "next"), new Prng(8), { files: 10, maxFileBytes: 16 * 1024 });
  const baseImage = readFileSync(path);
  const live = join(dir.path, "live.suede");
  copyFileSync(path, live);
  const ops = await recordFileOps(live, async () => void (await backupInto(live, join(dir.path, "next"))));
  // The commit's shape: … sync, [index records + checkpoint], sync, [superblock], sync.
  const syncs = ops.flatMap((op, i) => (op.kind === "sync" ? [i] : []));
  const metaWrite = ops[syncs[syncs.length - 2]! - 1]!;
  assert.equal(metaWrite.kind, "write");
  if (metaWrite.kind !== "write") return;
  assert.ok(metaWrite.bytes.length > 1024, "index and checkpoint are written together");
  // Power cut before the superblock: everything up to the checkpoint's sync is there, except that
  // bytes 100–199 of that write (inside the index record's body; its header stays readable, so a
  // scan walks past it to the checkpoint) came out as garbage.
  let image: Buffer = Buffer.from(baseImage);
  for (const op of ops.slice(0, syncs[syncs.length - 2]!)) {
    if (op.kind === "write") {
      const end = op.offset + op.bytes.length;
      if (end > image.length) image = Buffer.concat([image, Buffer.alloc(end - image.length)]);
      op.bytes.copy(image, op.offset);
    }
  }
  new Prng(9).bytes(100).copy(image, metaWrite.offset + 100);
  writeFileSync(path, image);
  await withVault(path, A, true, async (vault) => {
    assert.deepEqual(vault.warnings, []);
    assert.deepEqual((await vault.listSnapshots()).map((s) => s.number), [1]);
    assert.deepEqual((await vault.check()).problems, []);
    // The writer carries on: the torn tail is dropped and the backup is made again.
    assert.equal((await vault.backup({ paths: [join(dir.path, "next")] })).id, 2);
  });
  await withVault(path, A, false, async (vault) => {
    assert.deepEqual((await vault.check({ readData: true })).problems, []);
    const target = join(dir.path, "restore");
    await vault.restore(1, { target });
    assert.deepEqual(await compareTrees(sources.get(1)!, join(target, sources.get(1)!)), []);
  });
});
