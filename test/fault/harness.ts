// Reusable fault harness: a seeded source-tree maker, a CLI child killed with SIGKILL at a random
// moment, and a verifier that opens the vault in-process and proves that nothing committed was lost
// (check clean, every known snapshot listed and restored byte-exact against its immutable source dir).
// Seeds come from SUEDE_FAULT_SEED (or are drawn and printed); loop counts scale with SUEDE_KILL_LOOPS.
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { PASSPHRASE, type RunOptions, type RunResult, startSuede } from "../helpers/cli.ts";
import { compareTrees } from "../helpers/compare-trees.ts";
import { Prng } from "../helpers/prng.ts";

/** The seed for this run: SUEDE_FAULT_SEED, or a fresh one (always printed by the tests). */
export function faultSeed(): number {
  const fromEnv = process.env["SUEDE_FAULT_SEED"];
  return fromEnv === undefined ? randomInt(2 ** 31) : Number.parseInt(fromEnv, 10);
}

/** How many kills a loop does: the default, or SUEDE_KILL_LOOPS (e.g. 500 for a nightly run). */
export function killCount(defaultCount: number): number {
  const fromEnv = process.env["SUEDE_KILL_LOOPS"];
  return fromEnv === undefined ? defaultCount : Math.max(1, Number.parseInt(fromEnv, 10));
}

/** KDF parameters for in-process vaults (the same cheap profile as the CLI's FAST_KDF). */
export const TEST_KDF = { iterations: 1, memoryKiB: 1024, parallelism: 1 };

export async function scratchDir(prefix: string): Promise<{ path: string; remove: () => void }> {
  const path = await mkdtemp(join(tmpdir(), `suede-fault-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface FaultFixture {
  /** The run's seed (already printed as a test diagnostic) and a prng drawn from it. */
  readonly seed: number;
  readonly prng: Prng;
  /** A scratch directory, removed after the test. */
  readonly dir: string;
  /** dir/v.suede: created with TEST_KDF unless `vault: false`. */
  readonly vault: string;
}

/**
 * The setup every fault test starts with: a printed seed, a prng from it, a scratch dir removed
 * after the test and a fresh vault under the given secret (default PASSPHRASE) made in-process.
 */
export async function faultFixture(
  t: { diagnostic: (message: string) => void; after: (fn: () => void) => void },
  name: string,
  options: { secret?: { passphrase: string }; vault?: boolean } = {},
): Promise<FaultFixture> {
  const seed = faultSeed();
  t.diagnostic(`seed ${seed}`);
  const dir = await scratchDir(name);
  t.after(dir.remove);
  const vault = join(dir.path, "v.suede");
  if (options.vault !== false) await SuedeVault.create(vault, { secret: options.secret ?? { passphrase: PASSPHRASE }, kdf: TEST_KDF });
  return { seed, prng: new Prng(seed), dir: dir.path, vault };
}

/** Runs fn with a session on the vault (read-only unless `writable`) and closes it whatever happens. */
export async function withVault<T>(path: string, passphrase: string, writable: boolean, fn: (vault: SuedeVault) => Promise<T>): Promise<T> {
  const vault = await SuedeVault.open(path, { secret: { passphrase }, writable });
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}

/**
 * Writes a small tree of incompressible files (names and sizes from the prng) under root. Trees are
 * never changed after their snapshot is taken, so a snapshot's own path is its expected content.
 */
export function makeTree(root: string, prng: Prng, options: { files: number; maxFileBytes: number }): void {
  mkdirSync(root, { recursive: true });
  for (let i = 0; i < options.files; i++) {
    const dir = join(root, `d${prng.below(4)}`, i % 5 === 0 ? "deeper" : "");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.bin`), prng.bytes(prng.below(options.maxFileBytes + 1)));
  }
}

export interface KillOutcome {
  /** true: SIGKILL landed; false: the command had already finished on its own. */
  readonly killed: boolean;
  readonly result: RunResult;
  /** From start to exit. */
  readonly elapsedMs: number;
}

/** Starts the suede CLI and SIGKILLs it after delayMs (unless it has exited by then). */
export async function runAndKill(args: readonly string[], delayMs: number, options: RunOptions = {}): Promise<KillOutcome> {
  const start = Date.now();
  const child = startSuede(args, options);
  let exited = false;
  void child.result.then(() => {
    exited = true;
  });
  await Promise.race([new Promise((resolve) => setTimeout(resolve, delayMs)), child.result]);
  if (!exited) child.kill("SIGKILL");
  const result = await child.result;
  return { killed: result.signal === "SIGKILL", result, elapsedMs: Date.now() - start };
}

/**
 * Where kill delays are drawn from: up to 1.1 × the median length of the runs that finished so
 * far. Later runs are often quicker than the first (dedup, less garbage to prune), and a window
 * fixed by the first run would let most of them finish before the kill.
 */
export class KillWindow {
  private readonly finishedMs: number[];

  constructor(firstRunMs: number) {
    this.finishedMs = [firstRunMs];
  }

  /** A delay from `from` × the typical run length up to 1.1 × it. */
  delay(prng: Prng, from = 0): number {
    const sorted = [...this.finishedMs].sort((a, b) => a - b);
    const typical = sorted[Math.floor(sorted.length / 2)]!;
    const low = Math.floor(typical * from);
    return low + prng.below(Math.ceil(typical * 1.1) - low + 1);
  }

  note(outcome: KillOutcome): void {
    if (!outcome.killed) this.finishedMs.push(outcome.elapsedMs);
  }
}

/** Wall time of one undisturbed run of a command (the kill window is drawn from it). */
export async function timeRun(run: () => Promise<unknown>): Promise<number> {
  const start = Date.now();
  await run();
  return Date.now() - start;
}

/**
 * What must survive: snapshot number → the source dir it was taken of. Snapshots are added once
 * their commit is known (a CLI exit 0, or found after a kill) and removed only by a forget that
 * completed.
 */
export class CommittedSnapshots {
  readonly sources = new Map<number, string>();
  restores = 0;

  constructor(
    private readonly scratch: string,
    private secret: { passphrase: string },
  ) {}

  /** The passphrase verify() opens with (key tests change which ones work). */
  secretFor(passphrase: string): void {
    this.secret = { passphrase };
  }

  /**
   * Opens the vault read-only and asserts: every known snapshot is listed, check finds nothing,
   * snapshots not yet known (committed by a killed child) are adopted if their source is one of
   * `candidates`, and the snapshots in `restore` (default: all known) restore byte-exact.
   */
  async verify(vaultPath: string, what: string, options: { restore?: "all" | "new-and-one"; prng?: Prng; readData?: boolean } = {}): Promise<void> {
    const vault = await SuedeVault.open(vaultPath, { secret: this.secret, writable: false });
    try {
      const listed = await vault.listSnapshots();
      const numbers = new Set(listed.map((s) => s.number));
      for (const number of this.sources.keys()) assert.ok(numbers.has(number), `${what}: committed snapshot ${number} is gone (listed: ${[...numbers].join(",")})`);
      const report = await vault.check({ readData: options.readData ?? false });
      assert.deepEqual(report.problems, [], `${what}: check found problems`);
      const fresh: number[] = [];
      for (const snapshot of listed) {
        if (this.sources.has(snapshot.number)) continue;
        assert.equal(snapshot.paths.length, 1, `${what}: snapshot ${snapshot.number} has paths ${snapshot.paths.join(",")}`);
        this.sources.set(snapshot.number, snapshot.paths[0]!);
        fresh.push(snapshot.number);
      }
      let toRestore: number[];
      if ((options.restore ?? "all") === "all" || options.prng === undefined) toRestore = [...this.sources.keys()];
      else {
        const old = [...this.sources.keys()].filter((n) => !fresh.includes(n));
        toRestore = old.length === 0 ? fresh : [...fresh, options.prng.pick(old)];
      }
      for (const number of toRestore) await this.restoreExact(vault, number, what);
    } finally {
      await vault.close();
    }
  }

  private async restoreExact(vault: SuedeVault, number: number, what: string): Promise<void> {
    const source = this.sources.get(number)!;
    const target = join(this.scratch, `restore-${this.restores++}`);
    try {
      const result = await vault.restore(number, { target });
      assert.deepEqual(result.failed, [], `${what}: snapshot ${number} restore failed`);
      const differences = await compareTrees(source, join(target, source));
      assert.deepEqual(differences, [], `${what}: snapshot ${number} does not restore byte-exact`);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  }
}

/** Counts of where kills landed, for the test's diagnostic line. */
export class KillTally {
  killed = 0;
  finishedBeforeKill = 0;
  committedByKilled = 0;
  readonly startMs = Date.now();

  note(outcome: KillOutcome): void {
    if (outcome.killed) this.killed++;
    else this.finishedBeforeKill++;
  }

  summary(label: string, seed: number): string {
    return `${label}: ${this.killed} killed mid-run, ${this.finishedBeforeKill} finished before the kill, ${this.committedByKilled} commits found after kills, ${((Date.now() - this.startMs) / 1000).toFixed(1)} s (seed ${seed}; rerun with SUEDE_FAULT_SEED=${seed})`;
  }
}
