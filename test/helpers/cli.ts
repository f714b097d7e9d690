// Runs the built suede CLI (dist/) as a child process without a shell, and gives tests temp dirs and vault helpers.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BackupResult } from "../../src/index.ts";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CLI = join(REPO, "dist", "cli", "main.js");
export const PASSPHRASE = "correct horse battery staple";
/** Cheap KDF settings for tests. */
export const FAST_KDF = ["--kdf-memory", "1", "--kdf-iterations", "1", "--kdf-parallelism", "1"];

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);

export interface RunOptions {
  /** The passphrase for SUEDE_PASSPHRASE; null leaves it unset. Default PASSPHRASE. */
  readonly passphrase?: string | null;
  readonly env?: Readonly<Record<string, string>>;
  /** Run as this uid/gid through setpriv (root only). */
  readonly asUser?: number;
  readonly cwd?: string;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function environment(options: RunOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (options.env?.SUEDE_DEBUG === undefined) delete env.SUEDE_DEBUG;
  delete env.SUEDE_PASSPHRASE;
  const passphrase = options.passphrase === undefined ? PASSPHRASE : options.passphrase;
  if (passphrase !== null) env.SUEDE_PASSPHRASE = passphrase;
  return env;
}

/** Starts suede with args; stdin is a pipe (never a terminal). */
export function startSuede(args: readonly string[], options: RunOptions = {}): ChildProcess & { result: Promise<RunResult> } {
  const argv = [CLI, ...args];
  const [command, commandArgs] =
    options.asUser === undefined
      ? [process.execPath, argv]
      : ["setpriv", [`--reuid=${options.asUser}`, `--regid=${options.asUser}`, "--clear-groups", process.execPath, ...argv]];
  const child = spawn(command, commandArgs, { env: environment(options), stdio: ["pipe", "pipe", "pipe"], cwd: options.cwd ?? REPO });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  child.stdin.end();
  const result = new Promise<RunResult>((resolvePromise, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) =>
      resolvePromise({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
  });
  return Object.assign(child, { result });
}

export function suede(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return startSuede(args, options).result;
}

/** Runs suede and fails with its output unless it exits with `code`. */
export async function suedeOk(args: readonly string[], options: RunOptions = {}, code = 0): Promise<RunResult> {
  const result = await suede(args, options);
  if (result.code !== code) {
    throw new Error(`suede ${args.join(" ")} exited ${result.code} (signal ${result.signal}), expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}

export async function initVault(vault: string, options: RunOptions = {}): Promise<void> {
  await suedeOk(["init", vault, ...FAST_KDF], options);
}

/** What `backup --json` prints: the library's BackupResult, serialized. */
export type BackupJson = BackupResult;

export async function backupJson(vault: string, paths: readonly string[], options: RunOptions = {}, extra: readonly string[] = []): Promise<BackupJson> {
  const result = await suedeOk(["backup", vault, ...paths, ...extra, "--json"], options);
  return JSON.parse(result.stdout) as BackupJson;
}

export interface SnapshotJson {
  readonly id: number;
  readonly time: string;
  readonly host: string;
  readonly user: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly pinned: boolean;
  readonly parent: number | null;
  readonly files: number;
  readonly dirs: number;
  readonly sizeBytes: number;
}

export async function snapshotsJson(vault: string, options: RunOptions = {}): Promise<SnapshotJson[]> {
  const result = await suedeOk(["snapshots", vault, "--json"], options);
  return JSON.parse(result.stdout) as SnapshotJson[];
}

export interface LsEntry {
  readonly path: string;
  readonly pathBase64?: string;
  readonly name: string;
  readonly type: string;
  readonly mode: number;
  readonly size: number;
  readonly mtime: string;
  readonly mtimeNs: string;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  readonly linkTarget?: string;
  readonly linkTargetBase64?: string;
  readonly unreadable?: string;
}

/** ls --json (NDJSON) parsed; the raw path bytes come from pathBase64 when present. */
export async function lsJson(vault: string, snapshot: string, path?: string, options: RunOptions = {}, recursive = true): Promise<(LsEntry & { bytes: Buffer })[]> {
  const args = ["ls", vault, snapshot, ...(path === undefined ? [] : [path]), ...(recursive ? ["-R"] : []), "--json"];
  const result = await suedeOk(args, options);
  return result.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const entry = JSON.parse(line) as LsEntry;
      const bytes = entry.pathBase64 !== undefined ? Buffer.from(entry.pathBase64, "base64") : Buffer.from(entry.path, "utf8");
      return { ...entry, bytes };
    });
}

export async function sha256Of(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

/** A fresh directory under the system temp dir; remove it with the returned function. */
export async function tempDir(prefix: string, mode?: number): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `suede-e2e-${prefix}-`));
  if (mode !== undefined) await chmod(path, mode);
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Runs a command without a shell; rejects with its stderr unless it exits 0. */
export function runTool(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolvePromise(Buffer.concat(out).toString("utf8"));
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${Buffer.concat(err).toString("utf8")}`));
    });
  });
}

/** Whether a program is on PATH. */
export function hasProgram(name: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const child = spawn(name, ["--version"], { stdio: "ignore" });
    child.once("error", () => resolvePromise(false));
    child.once("close", () => resolvePromise(true));
  });
}

export const isRoot = process.getuid?.() === 0;
