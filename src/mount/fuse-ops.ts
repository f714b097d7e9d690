/**
 * The fuse-native handlers: getattr, readdir, readlink, open/read/release and statfs over the
 * MountTree and ChunkReader; every operation that would change something answers EROFS.
 */
import type { Node } from "../core/types.ts";
import { shownName } from "./names.ts";
import type { ChunkReader } from "./chunk-reader.ts";
import type { Callback, FuseOps, FuseStat } from "./fuse-native.ts";
import type { MountEntry, MountTree } from "./mount-tree.ts";

const ENOENT = -2;
const EIO = -5;
const EACCES = -13;
const ENOTDIR = -20;
const EISDIR = -21;
const EINVAL = -22;
const EROFS = -30;

const S_IFMT: Readonly<Record<Node["type"], number>> = {
  file: 0o100000,
  dir: 0o040000,
  symlink: 0o120000,
  fifo: 0o010000,
  socket: 0o140000,
  chardev: 0o020000,
  blockdev: 0o060000,
};

export interface OpsContext {
  readonly tree: MountTree;
  readonly reader: ChunkReader;
  /** Owner of the layout directories (the mounting user). */
  readonly uid: number;
  readonly gid: number;
  readonly vaultSizeBytes: () => number;
  /** Unexpected failures (a damaged vault, a bug): logged, answered with EIO. */
  readonly onError: (path: string, error: unknown) => void;
}

/**
 * A Date from nanoseconds since the epoch. fuse-native passes times as Date (millisecond precision)
 * in unsigned fields, so a time before 1970 would wrap to a far future: it shows as the epoch.
 */
function dateOfNs(ns: bigint): Date {
  return new Date(ns < 0n ? 0 : Number(ns / 1_000_000n));
}

export function statOf(entry: MountEntry, context: Pick<OpsContext, "uid" | "gid">): FuseStat {
  const base = { uid: context.uid, gid: context.gid, ino: entry.ino, rdev: 0, blksize: 4096 };
  switch (entry.kind) {
    case "layout": {
      const time = new Date(entry.timeMs);
      return { ...base, mode: 0o040555, size: 4096, nlink: 2, blocks: 8, atime: time, mtime: time, ctime: time };
    }
    case "link": {
      const time = new Date(entry.timeMs);
      return { ...base, mode: 0o120777, size: Buffer.byteLength(entry.target), nlink: 1, blocks: 0, atime: time, mtime: time, ctime: time };
    }
    case "snapshot-root": {
      const time = new Date(entry.snapshot.timeMs);
      return { ...base, mode: 0o040555, size: 4096, nlink: 2, blocks: 8, atime: time, mtime: time, ctime: time };
    }
    case "node": {
      const node = entry.node;
      const mtime = dateOfNs(node.mtimeNs);
      const size = node.type === "symlink" ? (node.linkTarget?.byteLength ?? 0) : node.sizeBytes;
      return {
        ...base,
        mode: S_IFMT[node.type] | (node.mode & 0o7777),
        uid: node.uid,
        gid: node.gid,
        size,
        nlink: Math.max(1, node.nlink),
        rdev: Number(node.rdev ?? 0n),
        blocks: Math.ceil(size / 512),
        atime: mtime,
        mtime,
        ctime: dateOfNs(node.ctimeNs),
      };
    }
  }
}

export function fuseOps(context: OpsContext): FuseOps {
  const { tree, reader } = context;
  const handles = new Map<number, Node>();
  let nextHandle = 1;

  /** Runs an async handler; unexpected errors become EIO (and a log line), never a hung request. */
  const guarded = (path: string, callback: Callback, work: () => Promise<void>) => {
    work().catch((error: unknown) => {
      context.onError(path, error);
      callback(EIO);
    });
  };
  const readOnly = (...args: unknown[]) => (args.at(-1) as Callback)(EROFS);

  return {
    init: (callback: Callback) => callback(0),
    getattr: (path: string, callback: Callback) => {
      const cached = tree.lookupCached(path);
      if (cached !== undefined) return callback(0, statOf(cached, context));
      guarded(path, callback, async () => {
        const entry = await tree.lookup(path);
        if (entry === null) callback(ENOENT);
        else callback(0, statOf(entry, context));
      });
    },
    readdir: (path: string, callback: Callback) =>
      guarded(path, callback, async () => {
        const names = await tree.readdir(path);
        if (names !== null) return callback(0, [".", "..", ...names]);
        callback((await tree.lookup(path)) === null ? ENOENT : ENOTDIR);
      }),
    readlink: (path: string, callback: Callback) =>
      guarded(path, callback, async () => {
        const entry = await tree.lookup(path);
        if (entry === null) return callback(ENOENT);
        if (entry.kind === "link") return callback(0, entry.target);
        if (entry.kind === "node" && entry.node.type === "symlink") return callback(0, shownName(entry.node.linkTarget ?? new Uint8Array()));
        callback(EINVAL);
      }),
    access: (path: string, mode: number, callback: Callback) =>
      guarded(path, callback, async () => {
        if ((await tree.lookup(path)) === null) return callback(ENOENT);
        callback((mode & 2) !== 0 ? EROFS : 0);
      }),
    open: (path: string, flags: number, callback: Callback) =>
      guarded(path, callback, async () => {
        // O_WRONLY, O_RDWR, O_TRUNC: nothing here can be changed.
        if ((flags & 3) !== 0 || (flags & 0o1000) !== 0) return callback(EROFS);
        const entry = await tree.lookup(path);
        if (entry === null) return callback(ENOENT);
        if (entry.kind !== "node") return callback(entry.kind === "link" ? EINVAL : EISDIR);
        if (entry.node.type === "dir") return callback(EISDIR);
        if (entry.node.type !== "file") return callback(EACCES);
        const handle = nextHandle++;
        handles.set(handle, entry.node);
        callback(0, handle);
      }),
    read: (path: string, handle: number, buffer: Buffer, length: number, position: number, callback: Callback) =>
      guarded(path, callback, async () => {
        const node = handles.get(handle);
        if (node === undefined) return callback(EIO);
        if (node.unreadable !== undefined) {
          context.onError(path, new Error(`this file could not be read at backup time (${node.unreadable})`));
          return callback(EIO);
        }
        callback(await reader.read(node, position, length, buffer));
      }),
    release: (_path: string, handle: number, callback: Callback) => {
      handles.delete(handle);
      callback(0);
    },
    statfs: (_path: string, callback: Callback) => {
      const blocks = Math.ceil(context.vaultSizeBytes() / 4096);
      callback(0, { bsize: 4096, frsize: 4096, blocks, bfree: 0, bavail: 0, files: 0, ffree: 0, favail: 0, fsid: 0, flag: 1, namemax: 255 });
    },
    // Everything that would change the file system.
    write: readOnly,
    create: readOnly,
    mknod: readOnly,
    mkdir: readOnly,
    rmdir: readOnly,
    unlink: readOnly,
    rename: readOnly,
    link: readOnly,
    symlink: readOnly,
    chmod: readOnly,
    chown: readOnly,
    truncate: readOnly,
    ftruncate: readOnly,
    utimens: readOnly,
    setxattr: readOnly,
    removexattr: readOnly,
  };
}
