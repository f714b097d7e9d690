/**
 * The tools under test: suede and its peers (restic, borg, zpaq), each as commands on a per-tool state
 * directory that holds the repository and the tool's caches. Everything uses default settings except
 * where noted (zpaq -method 1 -key, borg repokey-blake2 encryption).
 */
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Cmd, log, sh, which } from "./exec.ts";

export const PASSPHRASE = "suede-bench-passphrase-0123456789";
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BUILT_CLI = join(REPO_ROOT, "dist", "cli", "main.js");
let suedeCli = BUILT_CLI;

/** The suede CLI under test (a pinned copy once pinSuedeBuild ran). */
export function suedeCliPath(): string {
  return suedeCli;
}

/**
 * Copies dist/ to WORK/suede-build, so that a rebuild of the work tree during a long run cannot
 * change (or break) the suede under test half way. node_modules is linked, package.json copied.
 */
export function pinSuedeBuild(work: string): string {
  const root = join(work, "suede-build");
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(REPO_ROOT, "dist"), join(root, "dist"), { recursive: true });
  copyFileSync(join(REPO_ROOT, "package.json"), join(root, "package.json"));
  symlinkSync(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  suedeCli = join(root, "dist", "cli", "main.js");
  buildId = fingerprint(join(root, "dist"));
  return suedeCli;
}

let buildId = "";

/**
 * The CLI's `#!/usr/bin/env -S [NAME=value ...] node [options]` line: an installed suede runs with
 * that environment and those node options, so the bench does too (`node main.js` alone skips them).
 */
function shebang(cli: string): { env: Record<string, string>; options: string[] } {
  const line = readFileSync(cli, "utf8").split("\n", 1)[0]!;
  const words = /^#!\/usr\/bin\/env -S (.*)$/.exec(line)?.[1]?.trim().split(/\s+/) ?? [];
  const node = words.indexOf("node");
  if (node < 0) return { env: {}, options: [] };
  const env = Object.fromEntries(words.slice(0, node).map((word) => [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]));
  return { env, options: words.slice(node + 1) };
}

/** Arguments for process.execPath: the shebang's node options, then the CLI. */
export function suedeNodeArgs(cli = suedeCli): string[] {
  return [...shebang(cli).options, cli];
}

/** The environment the shebang sets (e.g. MALLOC_ARENA_MAX). */
export function suedeShebangEnv(cli = suedeCli): Record<string, string> {
  return shebang(cli).env;
}

/** sha256 over the paths and contents of the pinned dist/ (first 12 hex digits), and the newest src/ mtime. */
function fingerprint(dist: string): string {
  const files = (readdirSync(dist, { recursive: true }) as string[]).filter((f) => statSync(join(dist, f)).isFile()).sort();
  const h = createHash("sha256");
  for (const f of files) h.update(f).update(readFileSync(join(dist, f)));
  let newest = 0;
  for (const f of readdirSync(join(REPO_ROOT, "src"), { recursive: true }) as string[]) {
    newest = Math.max(newest, statSync(join(REPO_ROOT, "src", f)).mtimeMs);
  }
  return `build ${h.digest("hex").slice(0, 12)}, src/ last modified ${new Date(newest).toISOString()}`;
}

export type Which = "newest" | "oldest";

export interface Tool {
  readonly name: string;
  /** zpaq 7.15 silently skips symbolic links; verification counts those differences separately. */
  readonly storesSymlinks: boolean;
  readonly notes: string;
  /** The repository (a directory, or a file for suede and zpaq) inside stateDir. */
  repo(stateDir: string): string;
  env(stateDir: string): NodeJS.ProcessEnv;
  /** Creates the repository (untimed); null when the tool needs none. */
  init(stateDir: string): Cmd | null;
  backup(stateDir: string, paths: readonly string[], snapshotNumber: number): Cmd;
  /** May run an untimed query first (to find the oldest snapshot). Extracts to target + absolute source path. */
  restore(stateDir: string, which: Which, target: string): Cmd;
  /** Lists snapshots: the cheapest command that unlocks the repository. */
  list(stateDir: string): Cmd;
  version(): string;
}

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SUEDE_PASSPHRASE;
  delete env.RESTIC_PASSWORD;
  delete env.BORG_PASSPHRASE;
  return env;
}

export const suede: Tool = {
  name: "suede",
  storesSymlinks: true,
  notes: "default Argon2id calibration at init; zstd 3; one vault file; no client-side cache",
  repo: (s) => join(s, "vault.suede"),
  env: () => ({ ...baseEnv(), ...suedeShebangEnv(), SUEDE_PASSPHRASE: PASSPHRASE }),
  init: (s) => ({ cmd: process.execPath, args: [...suedeNodeArgs(), "init", join(s, "vault.suede")] }),
  backup: (s, paths) => ({ cmd: process.execPath, args: [...suedeNodeArgs(), "backup", join(s, "vault.suede"), ...paths, "--json"] }),
  restore: (s, w, target) => ({
    cmd: process.execPath,
    args: [...suedeNodeArgs(), "restore", join(s, "vault.suede"), w === "newest" ? "latest" : "1", "--target", target],
  }),
  list: (s) => ({ cmd: process.execPath, args: [...suedeNodeArgs(), "snapshots", join(s, "vault.suede"), "--json"] }),
  version: () => `${sh(process.execPath, [suedeCli, "--version"], { quiet: true }).stdout.trim()} (${buildId !== "" ? `${buildId}; ` : ""}work tree dist/ pinned at ${suedeCli}; node ${process.version})`,
};

export const restic: Tool = {
  name: "restic",
  storesSymlinks: true,
  notes: "local repo, default settings (repo v2, compression auto = zstd fastest, scrypt KDF); cache in RESTIC_CACHE_DIR",
  repo: (s) => join(s, "repo"),
  env: (s) => ({ ...baseEnv(), RESTIC_PASSWORD: PASSPHRASE, RESTIC_CACHE_DIR: join(s, "cache"), RESTIC_PROGRESS_FPS: "0.016" }),
  init: (s) => ({ cmd: "restic", args: ["-r", join(s, "repo"), "init"] }),
  backup: (s, paths) => ({ cmd: "restic", args: ["-r", join(s, "repo"), "backup", ...paths] }),
  restore: (s, w, target) => {
    let id = "latest";
    if (w === "oldest") {
      const r = sh("restic", ["-r", join(s, "repo"), "snapshots", "--json"], { env: restic.env(s) });
      const snaps = JSON.parse(r.stdout || "[]") as { id: string; time: string }[];
      snaps.sort((a, b) => a.time.localeCompare(b.time));
      id = snaps[0]?.id ?? "latest";
    }
    return { cmd: "restic", args: ["-r", join(s, "repo"), "restore", id, "--target", target] };
  },
  list: (s) => ({ cmd: "restic", args: ["-r", join(s, "repo"), "snapshots", "--json"] }),
  version: () => sh("restic", ["version"], { quiet: true }).stdout.trim(),
};

export const borg: Tool = {
  name: "borg",
  storesSymlinks: true,
  notes: "borg init -e repokey-blake2, default lz4 compression and buzhash chunker; files/chunks cache in BORG_BASE_DIR",
  repo: (s) => join(s, "repo"),
  env: (s) => ({
    ...baseEnv(),
    BORG_PASSPHRASE: PASSPHRASE,
    BORG_BASE_DIR: join(s, "base"),
    BORG_RELOCATED_REPO_ACCESS_IS_OK: "yes",
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: "no",
  }),
  init: (s) => ({ cmd: "borg", args: ["init", "-e", "repokey-blake2", join(s, "repo")] }),
  backup: (s, paths, n) => ({ cmd: "borg", args: ["create", `${join(s, "repo")}::s${n}`, ...paths] }),
  restore: (s, w, target) => {
    let name = "s1";
    if (w === "newest") {
      const r = sh("borg", ["list", "--short", join(s, "repo")], { env: borg.env(s) });
      name = r.stdout.trim().split("\n").filter((x) => x !== "").pop() ?? "s1";
    }
    mkdirSync(target, { recursive: true });
    return { cmd: "borg", args: ["extract", `${join(s, "repo")}::${name}`], cwd: target };
  },
  list: (s) => ({ cmd: "borg", args: ["list", join(s, "repo")] }),
  version: () => sh("borg", ["--version"], { quiet: true }).stdout.trim(),
};

export const zpaq: Tool = {
  name: "zpaq",
  storesSymlinks: false,
  notes: "zpaq add -method 1 -key PASS (AES-256 encrypted archive; default 2 threads); change detection by mtime only; does not store symlinks",
  repo: (s) => join(s, "archive.zpaq"),
  env: () => baseEnv(),
  init: () => null,
  backup: (s, paths) => ({ cmd: "zpaq", args: ["add", join(s, "archive.zpaq"), ...paths, "-method", "1", "-key", PASSPHRASE] }),
  restore: (s, w, target) => ({
    cmd: "zpaq",
    args: ["extract", join(s, "archive.zpaq"), "-to", target, "-key", PASSPHRASE, ...(w === "oldest" ? ["-until", "1"] : [])],
  }),
  list: (s) => ({ cmd: "zpaq", args: ["list", join(s, "archive.zpaq"), "-key", PASSPHRASE, "-summary", "1"] }),
  version: () => (sh("zpaq", [], { quiet: true }).stdout.split("\n")[0] ?? "zpaq").trim(),
};

const APT_PACKAGE: Record<string, string> = { restic: "restic", borg: "borgbackup", zpaq: "zpaq" };

let aptUpdated = false;

/** Installs a missing peer with apt-get; returns null when available, or a note why it is skipped. */
export function ensureInstalled(tool: Tool, allowInstall: boolean): string | null {
  if (tool.name === "suede") {
    return existsSync(suedeCli) ? null : `suede CLI not built (${suedeCli} missing)`;
  }
  if (which(tool.name) !== null) return null;
  if (!allowInstall) return `${tool.name} not installed (--no-install)`;
  const pkg = APT_PACKAGE[tool.name] ?? tool.name;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  log(`installing ${pkg} with apt-get …`);
  let r = sh("apt-get", ["install", "-y", "-q", pkg], { env, timeoutS: 900 });
  if (r.code !== 0 && !aptUpdated) {
    aptUpdated = true;
    sh("apt-get", ["update", "-q"], { env, timeoutS: 900 });
    r = sh("apt-get", ["install", "-y", "-q", pkg], { env, timeoutS: 900 });
  }
  if (r.code !== 0 || which(tool.name) === null) return `could not install ${pkg}: ${r.stderr.trim().split("\n").slice(-2).join(" ")}`;
  return null;
}

export const ALL_TOOLS: readonly Tool[] = [suede, restic, borg, zpaq];
