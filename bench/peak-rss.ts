/**
 * Peak RSS of suede's everyday commands on trees you name (issue 5: no more than restic's or
 * Borg's). For each tree, in a fresh vault under the temp dir: first backup, no-change re-run,
 * restore of the latest snapshot — each under `/usr/bin/time -v` ("Maximum resident set size":
 * the largest process; suede's workers are threads, so that is all of suede). The vault and the
 * restore are deleted afterwards. The vault uses a cheap KDF: unlocking is not what is measured.
 *
 *   npm run build && node --import tsx bench/peak-rss.ts TREE... [--reps N] [--restic]
 *
 * `SUEDE_DEBUG=1` makes each suede command print its own memory peaks (main heap, external and
 * array buffers, sampled) to stderr; they are shown under the table.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { suedeNodeArgs, suedeShebangEnv } from "./lib/tools.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { reps: { type: "string", default: "1" }, restic: { type: "boolean", default: false } } });
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(REPO, "dist", "cli", "main.js");
if (!existsSync(CLI)) throw new Error("run npm run build first");
if (positionals.length === 0) throw new Error("name at least one tree to back up");
const PASSPHRASE = "peak-rss";
const FAST_KDF = ["--kdf-memory", "8", "--kdf-iterations", "1", "--kdf-parallelism", "1"];

interface Measured {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly debug: string;
}

function timed(command: string, args: readonly string[], env: Record<string, string>, cwd?: string): Measured {
  const run = spawnSync("/usr/bin/time", ["-v", command, ...args], { env: { ...process.env, ...env }, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...(cwd !== undefined ? { cwd } : {}) });
  if (run.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${run.status}: ${run.stderr.slice(-2000)}`);
  const field = (name: string) => run.stderr.match(new RegExp(`${name}: (.*)`))?.[1]?.trim() ?? "";
  const wall = field("Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)").split(":").map(Number);
  const seconds = wall.reduce((total, part) => total * 60 + part, 0);
  const debug = run.stderr.split("\n").filter((line) => line.startsWith("suede: debug:")).join("; ");
  return { seconds, rssMiB: Number(field("Maximum resident set size \\(kbytes\\)")) / 1024, debug };
}

const suede = (args: readonly string[]) => timed(process.execPath, [...suedeNodeArgs(CLI), ...args], { ...suedeShebangEnv(CLI), SUEDE_PASSPHRASE: PASSPHRASE });
const restic = (args: readonly string[], repo: string) => timed("restic", ["-r", repo, "--no-cache", "-q", ...args], { RESTIC_PASSWORD: PASSPHRASE });

const rows: string[][] = [];
const notes: string[] = [];
for (const tree of positionals.map((p) => resolve(p))) {
  for (let rep = 0; rep < Number(values.reps); rep++) {
    const work = mkdtempSync(join(tmpdir(), "suede-rss-"));
    try {
      const vault = join(work, "v.vault");
      spawnSync(process.execPath, [CLI, "init", vault, ...FAST_KDF], { env: { ...process.env, SUEDE_PASSPHRASE: PASSPHRASE } });
      const steps: [string, () => Measured][] = [
        ["first backup", () => suede(["backup", vault, tree])],
        ["no-change re-run", () => suede(["backup", vault, tree])],
        ["restore latest", () => suede(["restore", vault, "latest", "--target", join(work, "out")])],
      ];
      if (values.restic) {
        const repo = join(work, "restic");
        timed("restic", ["-r", repo, "-q", "init"], { RESTIC_PASSWORD: PASSPHRASE });
        steps.push(
          ["restic first backup", () => restic(["backup", tree], repo)],
          ["restic no-change re-run", () => restic(["backup", tree], repo)],
          ["restic restore latest", () => restic(["restore", "latest", "--target", join(work, "restic-out")], repo)],
        );
      }
      for (const [step, run] of steps) {
        const m = run();
        rows.push([basename(tree), step, m.seconds.toFixed(1), m.rssMiB.toFixed(0)]);
        if (m.debug !== "") notes.push(`${basename(tree)} ${step}: ${m.debug}`);
        console.log(rows.at(-1)!.join("  "));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
}
console.log(`\n| tree | step | wall s | peak RSS MiB |\n|---|---|---|---|\n${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}`);
for (const note of notes) console.log(note);
