// Soak run (not part of npm test): random backup / forget / prune cycles against one vault for as
// long as asked, the CLI SIGKILLed at random moments in most of them; after every step the vault
// must open, check clean and restore every committed snapshot byte-exact (harness.ts). Every third
// step also damages a copy of the vault at random and checks that the damage is detected or
// harmless and never restores wrong bytes (corruption-round.ts). Prints the counts at the end;
// exits 1 on the first loss, with the seed to replay it.
// Usage: npm run soak -- --minutes N [--seed S]
import { join } from "node:path";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { PASSPHRASE, suedeOk } from "../helpers/cli.ts";
import { Prng } from "../helpers/prng.ts";
import { corruptionRound, emptyCorruptionCounts } from "./corruption-round.ts";
import { CommittedSnapshots, TEST_KDF, faultSeed, makeTree, runAndKill, scratchDir, timeRun } from "./harness.ts";

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const minutes = Number.parseFloat(option("minutes") ?? "5");
const seed = option("seed") !== undefined ? Number.parseInt(option("seed")!, 10) : faultSeed();
const prng = new Prng(seed);
const SECRET = { passphrase: PASSPHRASE };
const counts = { steps: 0, backups: 0, forgets: 0, prunes: 0, killsSurvived: 0, finishedBeforeKill: 0, snapshotsVerified: 0, losses: 0 };
const damage = emptyCorruptionCounts();

const dir = await scratchDir("soak");
const vault = join(dir.path, "v.suede");
const committed = new CommittedSnapshots(dir.path, SECRET);
process.stdout.write(`soak: ${minutes} min, seed ${seed} (replay with --seed ${seed})\n`);
try {
  await SuedeVault.create(vault, { secret: SECRET, kdf: TEST_KDF });
  const sources: string[] = [];
  for (let i = 0; i < 8; i++) {
    const root = join(dir.path, `src${i}`);
    makeTree(root, new Prng(seed + i), { files: 30, maxFileBytes: 96 * 1024 });
    // Half of each source is shared with the first one, so prune has both dead and live records to move.
    makeTree(join(root, "shared"), new Prng(seed), { files: 10, maxFileBytes: 96 * 1024 });
    sources.push(root);
  }
  const backupMs = await timeRun(() => suedeOk(["backup", vault, sources[0]!]));
  await committed.verify(vault, "first backup");
  const deadline = Date.now() + minutes * 60_000;
  while (Date.now() < deadline) {
    const what = `step ${counts.steps} (seed ${seed})`;
    const roll = prng.below(10);
    let args: string[];
    if (roll < 5 || committed.sources.size < 3) {
      args = ["backup", vault, prng.pick(sources)];
      counts.backups++;
    } else if (roll < 8) {
      const numbers = [...committed.sources.keys()];
      const victim = prng.pick(numbers.slice(0, -1));
      args = ["forget", vault, String(victim), ...(prng.below(2) === 0 ? ["--prune"] : [])];
      counts.forgets++;
    } else {
      args = ["prune", vault];
      counts.prunes++;
    }
    // Three steps in four are killed somewhere in [0, 1.5 × a backup's time).
    const kill = prng.below(4) !== 0;
    const outcome = await runAndKill(args, kill ? prng.below(Math.ceil(backupMs * 1.5)) : 3_600_000);
    if (outcome.killed) counts.killsSurvived++;
    else {
      if (kill) counts.finishedBeforeKill++;
      if (outcome.result.code !== 0) throw new Error(`${what}: ${args.join(" ")} exited ${outcome.result.code}: ${outcome.result.stderr}`);
    }
    // A forget that committed drops its snapshot from what must survive; one killed before did not.
    if (args[0] === "forget") {
      const open = await SuedeVault.open(vault, { secret: SECRET });
      const listed = new Set((await open.listSnapshots()).map((s) => s.number));
      await open.close();
      for (const number of [...committed.sources.keys()]) if (!listed.has(number) && number === Number(args[2])) committed.sources.delete(number);
    }
    await committed.verify(vault, what, { restore: counts.steps % 5 === 0 ? "all" : "new-and-one", prng, readData: counts.steps % 10 === 0 });
    counts.snapshotsVerified = committed.restores;
    if (counts.steps % 3 === 2) await corruptionRound(vault, dir.path, SECRET, committed.sources, prng, damage);
    counts.steps++;
  }
  await committed.verify(vault, "end", { restore: "all", readData: true });
  counts.snapshotsVerified = committed.restores;
  process.stdout.write(`soak passed: ${JSON.stringify({ ...counts, ...damage })}\n`);
} catch (error) {
  counts.losses = 1;
  process.stdout.write(`soak FAILED: ${(error as Error).message}\ncounts: ${JSON.stringify({ ...counts, ...damage })}\nreplay: npm run soak -- --minutes ${minutes} --seed ${seed}\n`);
  process.exitCode = 1;
} finally {
  dir.remove();
}
