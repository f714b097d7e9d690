/**
 * Running commands for the benchmark: timed runs under /usr/bin/time with a timeout and per-command
 * logs, untimed helpers, page-cache dropping and a run log that mirrors the console.
 */
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

let logDir = "";
let runLog = "";
let seq = 0;

export function setLogDir(dir: string): void {
  mkdirSync(join(dir, "cmd"), { recursive: true });
  logDir = dir;
  runLog = join(dir, "run.log");
}

export function getLogDir(): string {
  return logDir;
}

function stamp(): string {
  return new Date().toISOString().slice(11, 19);
}

/** Prints and appends to run.log. */
export function log(message: string): void {
  const line = `[${stamp()}] ${message}`;
  console.log(line);
  if (runLog !== "") appendFileSync(runLog, `${line}\n`);
}

/** Only to run.log (for noisy detail). */
export function logQuiet(message: string): void {
  if (runLog !== "") appendFileSync(runLog, `[${stamp()}] ${message}\n`);
}

export function loud(message: string): void {
  const bar = "!".repeat(78);
  log(bar);
  log(`!!! ${message}`);
  log(bar);
}

let dropWorkedEver: boolean | null = null;

/** sync, then drop page cache, dentries and inodes. Returns whether the kernel accepted it. */
export function dropCaches(): boolean {
  spawnSync("sync");
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "3");
    dropWorkedEver = dropWorkedEver ?? true;
    return true;
  } catch {
    dropWorkedEver = false;
    return false;
  }
}

export function dropCachesStatus(): string {
  if (dropWorkedEver === null) return "not attempted";
  return dropWorkedEver ? "yes (sync; echo 3 > /proc/sys/vm/drop_caches before each timed command)" : "NO (not permitted; runs are warm-cache)";
}

export interface Cmd {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly cwd?: string;
}

export interface Timing {
  readonly label: string;
  readonly ok: boolean;
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly wallS: number;
  readonly userS: number;
  readonly sysS: number;
  readonly maxRssKiB: number;
  readonly cacheDropped: boolean;
  readonly stdoutFile: string;
  readonly stderrFile: string;
}

export interface TimedOptions {
  readonly label: string;
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutS: number;
  readonly dropCaches: boolean;
}

function safeLabel(label: string): string {
  return label.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 120);
}

/** Runs cmd under `/usr/bin/time -f "%e %U %S %M"`, killing its process group after timeoutS. */
export async function timed(c: Cmd, opts: TimedOptions): Promise<Timing> {
  const base = join(logDir, "cmd", `${String(++seq).padStart(4, "0")}-${safeLabel(opts.label)}`);
  const timeFile = `${base}.time`;
  const stdoutFile = `${base}.out`;
  const stderrFile = `${base}.err`;
  writeFileSync(`${base}.cmd`, `${c.cwd !== undefined ? `(cd ${c.cwd}) ` : ""}${c.cmd} ${c.args.join(" ")}\n`);
  const cacheDropped = opts.dropCaches ? dropCaches() : false;
  const outFd = openSync(stdoutFile, "w");
  const errFd = openSync(stderrFile, "w");
  const t0 = process.hrtime.bigint();
  let timedOut = false;
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn("/usr/bin/time", ["-f", "%e %U %S %M", "-o", timeFile, c.cmd, ...c.args], {
      cwd: c.cwd,
      env: opts.env,
      stdio: ["ignore", outFd, errFd],
      detached: true,
    });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    };
    let hard: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup("SIGTERM");
      hard = setTimeout(() => killGroup("SIGKILL"), 15_000);
    }, opts.timeoutS * 1000);
    child.on("error", (err) => {
      appendFileSync(stderrFile, `spawn error: ${err.message}\n`);
      clearTimeout(timer);
      resolve(null);
    });
    child.on("close", (exitCode) => {
      clearTimeout(timer);
      if (hard !== undefined) clearTimeout(hard);
      resolve(exitCode);
    });
  });
  closeSync(outFd);
  closeSync(errFd);
  const fallbackWall = Number(process.hrtime.bigint() - t0) / 1e9;
  let wallS = fallbackWall;
  let userS = Number.NaN;
  let sysS = Number.NaN;
  let maxRssKiB = Number.NaN;
  if (existsSync(timeFile)) {
    const lines = readFileSync(timeFile, "utf8").trim().split("\n");
    for (const line of lines) {
      const m = /^([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/.exec(line.trim());
      if (m !== null) {
        wallS = Number(m[1]);
        userS = Number(m[2]);
        sysS = Number(m[3]);
        maxRssKiB = Number(m[4]);
      }
    }
  }
  const ok = code === 0 && !timedOut;
  const t: Timing = { label: opts.label, ok, code, timedOut, wallS, userS, sysS, maxRssKiB, cacheDropped, stdoutFile, stderrFile };
  logQuiet(
    `timed ${opts.label}: ${ok ? "ok" : timedOut ? `TIMEOUT after ${opts.timeoutS}s` : `FAILED code ${code}`} ` +
      `wall ${wallS.toFixed(2)}s user ${userS} sys ${sysS} rss ${maxRssKiB} KiB drop=${cacheDropped} log ${base}.*`,
  );
  if (!ok) {
    const tail = existsSync(stderrFile) ? readFileSync(stderrFile, "utf8").trim().split("\n").slice(-5).join("\n    ") : "";
    log(`  ${opts.label}: ${timedOut ? "TIMEOUT" : `exit ${code}`}; stderr tail:\n    ${tail}`);
  }
  return t;
}

export interface ShResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Untimed helper run; output kept in memory (up to 512 MiB) and logged to run.log on failure. */
export function sh(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutS?: number; quiet?: boolean } = {}): ShResult {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
    timeout: (opts.timeoutS ?? 3600) * 1000,
    killSignal: "SIGKILL",
  });
  const res: ShResult = { code: r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error !== undefined ? `\n${r.error.message}` : "") };
  if (res.code !== 0 && opts.quiet !== true) {
    logQuiet(`sh ${cmd} ${args.slice(0, 8).join(" ")}${args.length > 8 ? " …" : ""}: exit ${res.code}: ${res.stderr.trim().slice(0, 2000)}`);
  }
  return res;
}

/** Like sh, but throws on a non-zero exit. */
export function shOk(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutS?: number } = {}): string {
  const r = sh(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(" ")} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 500)}`);
  return r.stdout;
}

export function which(name: string): string | null {
  const r = sh("sh", ["-c", `command -v ${name}`], { quiet: true });
  return r.code === 0 ? r.stdout.trim() : null;
}

/** du -sb of a path (file or directory); NaN when missing. */
export function duBytes(path: string): number {
  if (!existsSync(path)) return Number.NaN;
  const r = sh("du", ["-sb", path], { quiet: true });
  const n = Number.parseInt(r.stdout.split("\t")[0] ?? "", 10);
  return Number.isFinite(n) ? n : Number.NaN;
}

export function rmrf(path: string): void {
  // rm -rf is much faster than fs.rmSync for million-file trees.
  sh("rm", ["-rf", "--one-file-system", path], { quiet: true });
}
