/**
 * The only module that touches fuse-native (an optional native dependency): loads it lazily, so
 * the rest of suede builds and runs without FUSE, and says what to install when it is missing.
 */
import { existsSync } from "node:fs";
import { SuedeError } from "../errors/errors.ts";

/** A fuse-native callback: an errno (negative) or 0 first, then the op's result. */
export type Callback = (code: number, ...results: unknown[]) => void;

export interface FuseStat {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly nlink: number;
  readonly ino: number;
  readonly rdev: number;
  readonly blksize: number;
  readonly blocks: number;
  readonly atime: Date;
  readonly mtime: Date;
  readonly ctime: Date;
}

/** The fuse-native handlers suede implements (names as fuse-native expects them). */
export type FuseOps = Record<string, (...args: never[]) => void>;

export interface FuseHandle {
  mount(callback: (error: Error | null) => void): void;
  unmount(callback: (error: Error | null) => void): void;
}

export interface FuseOptions {
  readonly allowOther: boolean;
  readonly defaultPermissions: boolean;
  readonly kernelCache: boolean;
  readonly entryTimeout: number;
  readonly attrTimeout: number;
  readonly fsname: string;
  readonly subtype: string;
  readonly timeout: number;
}

interface FuseClass {
  new (mountpoint: string, ops: FuseOps, options: FuseOptions): FuseHandle;
  unmount(mountpoint: string, callback: (error: Error | null) => void): void;
}

export const INSTALL_HINT = "install the FUSE libraries (apt-get install libfuse2 fuse3) and fuse-native (npm i fuse-native)";

/**
 * Loads fuse-native; `unmount` replaces its shell-based one (it runs `fusermount` through a shell
 * with the path in it). The package name and device are parameters only so tests can make them missing.
 */
export async function loadFuse(unmount: (mountpoint: string) => Promise<void>, packageName = "fuse-native", device = "/dev/fuse"): Promise<FuseClass> {
  if (!existsSync(device)) throw new SuedeError("FUSE_UNAVAILABLE", `FUSE is not available (${device} is missing): ${INSTALL_HINT}`);
  let fuse: FuseClass;
  try {
    // A variable specifier: the package is optional and has no type declarations.
    fuse = ((await import(packageName)) as { default: FuseClass }).default;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    throw new SuedeError("FUSE_UNAVAILABLE", `FUSE is not available (${reason}): ${INSTALL_HINT}`, { cause });
  }
  fuse.unmount = (mountpoint, callback) => {
    unmount(mountpoint).then(() => callback(null), (error: Error) => callback(error));
  };
  return fuse;
}
