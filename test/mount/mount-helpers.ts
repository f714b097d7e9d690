// Starts `suede mount` as a child process (a FUSE mount must never be read by the process serving it)
// and waits until it says it is mounted; the test process then reads the mount with node:fs.
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { type RunOptions, type RunResult, startSuede } from "../helpers/cli.ts";

export const HAS_FUSE = existsSync("/dev/fuse");
/** Why FUSE tests are skipped on this machine (false = they run). */
export const SKIP_FUSE: string | false = HAS_FUSE ? false : "/dev/fuse is missing (install libfuse2 and fuse3, load the fuse module)";

export type MountProcess = ChildProcess & { result: Promise<RunResult> };

/** Whether the kernel lists path as a mount point (read from /proc, never by stat-ing the mount). */
export function isMounted(path: string): boolean {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[1] === path);
}

/** Starts `suede mount VAULT MOUNTPOINT ...extra` and resolves once it printed "mounted". */
export async function startMount(vault: string, mountpoint: string, extra: readonly string[] = [], options: RunOptions = {}): Promise<MountProcess> {
  const child = startSuede(["mount", vault, mountpoint, ...extra], options);
  let seen = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mount did not start within 60 s: ${seen}`)), 60_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.includes("suede: mounted ")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.result.then((result) => {
      clearTimeout(timer);
      reject(new Error(`mount exited ${result.code} before mounting: ${result.stderr}`));
    }, reject);
  });
  return child;
}

/** A signal (SIGTERM unless told), then the process's exit. */
export async function stopMount(child: MountProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<RunResult> {
  child.kill(signal);
  return child.result;
}
