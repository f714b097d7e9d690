/**
 * A mount session: checks the mount point (clearing a stale mount a killed suede left behind),
 * mounts the vault read-only through FUSE, and unmounts on request; `unmounted` settles when the
 * file system is gone, also when someone ran `fusermount -u` or `umount` from outside.
 */
import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { SuedeVault } from "../api/suede-vault.ts";
import { SuedeError, isErrno } from "../errors/errors.ts";
import { ChunkReader } from "./chunk-reader.ts";
import { fuseOps } from "./fuse-ops.ts";
import { type FuseHandle, loadFuse } from "./fuse-native.ts";
import { MountTree } from "./mount-tree.ts";

export interface MountOptions {
  readonly mountpoint: string;
  /** Show only this snapshot at the root. */
  readonly snapshot: number | null;
  readonly allowOther: boolean;
  readonly nowMs: number;
  /** Failures while serving (a damaged chunk): the reader gets EIO, this gets the detail. */
  readonly onError: (path: string, error: unknown) => void;
}

export interface MountSession {
  readonly mountpoint: string;
  /** Settles once the file system is unmounted, by unmount() or from outside. */
  readonly unmounted: Promise<void>;
  unmount(): Promise<void>;
}

/** Seconds the kernel may keep a name lookup or attributes. */
const ATTRIBUTE_CACHE_S = 120;

/** How often to look for an unmount done from outside (fuse-native does not report it). */
const UNMOUNT_POLL_MS = 500;

/** Lazy unmount without a shell (fusermount is libfuse 2's tool, fusermount3 libfuse 3's). */
export async function fusermountUnmount(mountpoint: string): Promise<void> {
  const run = (tool: string) =>
    new Promise<void>((resolvePromise, reject) => {
      execFile(tool, ["-u", "-z", mountpoint], (error, _stdout, stderr) => {
        if (error === null) resolvePromise();
        else reject(Object.assign(new Error(`${tool} -u: ${stderr.trim() || error.message}`), { code: (error as NodeJS.ErrnoException).code }));
      });
    });
  try {
    await run("fusermount");
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
    await run("fusermount3");
  }
}

/** Whether a path is a mount point now, from the kernel's table (never stats the mount itself). */
export function isMounted(mountpoint: string): boolean {
  const table = readFileSync("/proc/self/mounts", "utf8");
  return table.split("\n").some((line) => {
    const field = line.split(" ")[1];
    // /proc/mounts escapes space, tab, newline and backslash as octal.
    return field !== undefined && field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))) === mountpoint;
  });
}

async function prepareMountpoint(mountpoint: string): Promise<void> {
  try {
    const info = await stat(mountpoint);
    if (!info.isDirectory()) throw new SuedeError("USAGE", `mount point ${mountpoint} is not a directory`);
    if (isMounted(mountpoint)) throw new SuedeError("FAILED", `${mountpoint} is already a mount point; unmount it first (fusermount -u ${mountpoint})`);
    // libfuse 2 refuses a non-empty mount point with a vague "fuse failed"; say it plainly.
    if ((await readdir(mountpoint)).length > 0) throw new SuedeError("FAILED", `mount point ${mountpoint} is not empty; mount on an empty directory`);
  } catch (error) {
    if (error instanceof SuedeError) throw error;
    if (isErrno(error, "ENOENT")) throw new SuedeError("PATH_NOT_FOUND", `mount point ${mountpoint} does not exist; create the directory first`);
    if (!isErrno(error, "ENOTCONN")) throw new SuedeError("FAILED", `cannot use mount point ${mountpoint}: ${(error as Error).message}`, { cause: error });
    // A FUSE server that died without unmounting (killed suede): clear it and go on.
    try {
      await fusermountUnmount(mountpoint);
    } catch (cause) {
      throw new SuedeError("FAILED", `${mountpoint} is a stale mount and clearing it failed (${(cause as Error).message}); run fusermount -u ${mountpoint}`, { cause });
    }
  }
}

export async function mountVault(vault: SuedeVault, options: MountOptions): Promise<MountSession> {
  const mountpoint = resolve(options.mountpoint);
  const Fuse = await loadFuse(fusermountUnmount);
  await prepareMountpoint(mountpoint);
  const tree = new MountTree(vault, options.snapshot, options.nowMs);
  await tree.refresh();
  if (options.snapshot !== null && (await tree.lookup("/")) === null) {
    throw new SuedeError("SNAPSHOT_NOT_FOUND", `no snapshot ${options.snapshot} in this vault`);
  }
  const vaultSizeBytes = statSync(vault.path).size;
  const ops = fuseOps({
    tree,
    reader: new ChunkReader(vault),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    vaultSizeBytes: () => vaultSizeBytes,
    onError: options.onError,
  });
  const fuse: FuseHandle = new Fuse(mountpoint, ops, {
    allowOther: options.allowOther,
    // Shared with others, the kernel must check the snapshot's own modes and owners.
    defaultPermissions: options.allowOther,
    // Snapshots never change, so the kernel may keep file pages across opens.
    kernelCache: true,
    // Snapshot contents never change: let the kernel keep names and attributes for minutes instead
    // of asking for each again every second. Directory listings are not cached (FUSE 2), so new
    // snapshots still show up at the next listing.
    entryTimeout: ATTRIBUTE_CACHE_S,
    attrTimeout: ATTRIBUTE_CACHE_S,
    fsname: "suede",
    // fuse-native has no setting for these options but joins its list with commas: "ro" makes the
    // kernel refuse writes itself, "use_ino" shows our inode numbers (hard links share one).
    subtype: "suede,ro,use_ino",
    timeout: 120_000,
  });
  await new Promise<void>((resolvePromise, reject) => {
    fuse.mount((error) => {
      if (error === null) resolvePromise();
      else {
        const allowHint = options.allowOther ? " (--allow-other needs user_allow_other in /etc/fuse.conf unless you are root)" : "";
        reject(new SuedeError("FAILED", `cannot mount at ${mountpoint}: ${error.message}${allowHint}`, { cause: error }));
      }
    });
  });

  let unmounting: Promise<void> | null = null;
  let settle!: () => void;
  const unmounted = new Promise<void>((resolvePromise) => {
    settle = resolvePromise;
  });
  const poll = setInterval(() => {
    if (unmounting === null && !isMounted(mountpoint)) {
      clearInterval(poll);
      settle();
    }
  }, UNMOUNT_POLL_MS);
  return {
    mountpoint,
    unmounted,
    unmount: () => {
      unmounting ??= new Promise<void>((resolvePromise, reject) => {
        clearInterval(poll);
        fuse.unmount((error) => {
          if (error === null || !isMounted(mountpoint)) resolvePromise();
          else reject(new SuedeError("FAILED", `unmounting ${mountpoint} failed: ${error.message}; run fusermount -u ${mountpoint}`, { cause: error }));
        });
      }).finally(settle);
      return unmounting;
    },
  };
}
