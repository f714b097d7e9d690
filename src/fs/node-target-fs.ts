/**
 * TargetFs over node:fs/promises, for restore. Paths are raw bytes (Buffer) end to end. Nothing here
 * follows a symlink that already exists at the path it creates: mkdir checks with lstat, files are
 * opened with O_NOFOLLOW, symlink/link/mknod fail on any existing entry, owners use lchown and times
 * use lutimes. OS errors become SuedeError TARGET_UNWRITABLE (NO_SPACE for ENOSPC/EDQUOT) with the
 * path shown by displayPath; errors from the piece source given to writeFile pass through unchanged.
 * No fsync per file (restore speed); callers that want durability use syncPath.
 */
import { spawn } from "node:child_process";
import { chmodSync, constants, lchownSync, lstatSync, lutimesSync, mkdirSync } from "node:fs";
import { chmod, link, lstat, mkdir, open, readdir, rename, rm, symlink, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { createServer } from "node:net";
import type { Server } from "node:net";
import type { FilePiece, TargetFs, TargetMetadata } from "../core/ports.ts";
import type { NodeType } from "../core/types.ts";
import { SuedeError, isErrno } from "../errors/errors.ts";
import { assert } from "../util/assert.ts";
import { toHex } from "../util/bytes.ts";
import { systemRandom } from "../util/random.ts";
import { displayPath } from "./display-path.ts";
import { errorReason } from "./error-reason.ts";
import { joinPath } from "./join.ts";
import { nodeTypeFromMode } from "./node-source-fs.ts";
import { CreatePace } from "./create-pace.ts";
import { RESTORE_DIRECT_WRITE_AHEAD_BYTES } from "../util/limits.ts";
import { WRITE_FLAGS, createMode, hasWriteTo, needsChmod, needsChown, writeSmallFile } from "./small-file.ts";
import { chownRefusalIsFatal, notRegularFileError, openForWriteError, targetError } from "./target-error.ts";
import { utimesArgument } from "./utimes.ts";

export { targetError } from "./target-error.ts";
export { utimesArgument, utimesSeconds } from "./utimes.ts";

/** Files up to this size are gathered in memory and written with one writev (see writeSmallFile). */
const SMALL_FILE_MAX_BYTES = 256 * 1024;
const ZERO_CHUNK_BYTES = 1024 * 1024;
/** Bytes of a file gathered before one writev: few syscalls, bounded memory. */
const WRITE_RUN_BYTES = 1024 * 1024;
/** sun_path holds 108 bytes with the NUL; stay well below. */
const MAX_SOCKET_PATH_BYTES = 100;

let zeroChunk: Buffer | null = null;

/** One shared, never written, zero-filled buffer of 1 MiB for non-sparse zero runs. */
function zeros(): Buffer {
  zeroChunk ??= Buffer.alloc(ZERO_CHUNK_BYTES);
  return zeroChunk;
}

/** Splits a Linux dev_t into major and minor numbers (glibc gnu_dev_major/gnu_dev_minor). */
export function splitDevice(rdev: bigint): { major: bigint; minor: bigint } {
  // The 32-bit masks matter with bigint: `~0xff` would pull the high major bits into the minor.
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major, minor };
}

/** Joins major and minor into a Linux dev_t (glibc gnu_dev_makedev); the inverse of splitDevice. */
export function makeDevice(major: bigint, minor: bigint): bigint {
  return (
    (minor & 0xffn) |
    ((major & 0xfffn) << 8n) |
    ((minor & 0xffffff00n) << 12n) |
    ((major & 0xfffff000n) << 32n)
  );
}

/** fsyncs a file or directory by path (open read-only, fsync, close). EINVAL (sync unsupported) is ignored. */
export async function syncPath(path: Buffer): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw targetError(path, error);
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!isErrno(error, "EINVAL")) throw targetError(path, error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

export class NodeTargetFs implements TargetFs {
  private readonly isRoot = process.getuid?.() === 0;
  private readonly createPace = new CreatePace();

  async existingType(path: Buffer): Promise<NodeType | null> {
    let mode: number;
    try {
      mode = (await lstat(path)).mode;
    } catch (error) {
      if (isErrno(error, "ENOENT")) return null;
      throw targetError(path, error);
    }
    const type = nodeTypeFromMode(mode);
    if (type === null) {
      throw new SuedeError("TARGET_UNWRITABLE", `cannot write ${displayPath(path)}: unsupported file type in the way`);
    }
    return type;
  }

  async mkdir(path: Buffer): Promise<void> {
    // Synchronous: restore waits for a directory before it walks into it, and on the libuv pool
    // that wait queued behind every file open in flight, a stall per directory (issue 5).
    try {
      mkdirSync(path);
      return;
    } catch (error) {
      if (!isErrno(error, "EEXIST")) throw targetError(path, error);
    }
    // Only a real directory may stay; a symlink to one would lead restore outside the target.
    const type = await this.existingType(path);
    if (type !== "dir") {
      throw new SuedeError(
        "TARGET_UNWRITABLE",
        `cannot create directory ${displayPath(path)}: ${type === null ? "it vanished" : `a ${type} is in the way`}`,
      );
    }
  }

  writeFile(path: Buffer, pieces: AsyncIterable<FilePiece> | readonly FilePiece[], options: WriteOptions): Promise<void> {
    if (options.sizeBytes > SMALL_FILE_MAX_BYTES) return this.writeLargeFile(path, pieces, options);
    // Pieces already in memory (restore's small files) are written without an await in between.
    if (isPieceArray(pieces)) return hasWriteTo(pieces) ? this.writeLargeFile(path, pieces, options) : this.writeSmall(path, pieces, options);
    return this.gatherSmallFile(path, pieces, options);
  }

  /** Through a FileHandle: data gathered into runs of WRITE_RUN_BYTES, writeTo pieces kept in flight. */
  private async writeLargeFile(path: Buffer, pieces: AsyncIterable<FilePiece> | readonly FilePiece[], options: WriteOptions): Promise<void> {
    let handle: FileHandle;
    try {
      // O_NONBLOCK: an existing FIFO fails (ENXIO) or is caught below instead of hanging the restore.
      handle = await open(path, WRITE_FLAGS, createMode(options.metadata?.metadata ?? null, options.metadata?.restoreOwner ?? false));
    } catch (error) {
      throw openForWriteError(path, error);
    }
    // writeTo pieces in flight, oldest first, up to RESTORE_DIRECT_WRITE_AHEAD_BYTES (what restore counts
    // per such file); the fd stays open until each has settled, as the vault's threads write to it.
    const queued: { readonly done: Promise<void>; readonly bytes: number }[] = [];
    try {
      const stats = await guard(path, () => handle.stat());
      if (!stats.isFile()) throw notRegularFileError(path);
      let position = 0;
      /** Where the bytes written so far end (holes skipped at the end do not extend the file). */
      let writtenEnd = 0;
      // Data pieces gather into runs of WRITE_RUN_BYTES written with one writev each.
      let run: Uint8Array[] = [];
      let runBytes = 0;
      let runStart = 0;
      const writeRun = async () => {
        const buffers = run;
        run = [];
        runBytes = 0;
        await guard(path, () => writeAll(handle, buffers, runStart));
      };
      let queuedBytes = 0;
      const awaitOldest = async () => {
        const oldest = queued.shift()!;
        queuedBytes -= oldest.bytes;
        await oldest.done;
      };
      // Errors thrown by the piece source itself (vault damage, cancellation) are not wrapped.
      for await (const piece of pieces) {
        if ("data" in piece) {
          if (runBytes === 0) runStart = position;
          run.push(piece.data);
          runBytes += piece.data.byteLength;
          position += piece.data.byteLength;
          writtenEnd = position;
          if (runBytes >= WRITE_RUN_BYTES) await writeRun();
        } else if ("writeTo" in piece) {
          if (runBytes > 0) await writeRun();
          const done = piece.writeTo(handle.fd, position).catch((error: unknown) => {
            throw targetError(path, error);
          });
          done.catch(() => undefined);
          queued.push({ done, bytes: piece.sizeBytes });
          queuedBytes += piece.sizeBytes;
          position += piece.sizeBytes;
          writtenEnd = position;
          while (queuedBytes > RESTORE_DIRECT_WRITE_AHEAD_BYTES) await awaitOldest();
        } else {
          const count = piece.zeroBytes;
          assert(Number.isSafeInteger(count) && count >= 0, `bad zero run ${count}`);
          if (runBytes > 0) await writeRun();
          if (!options.sparse) await guard(path, () => writeZeros(handle, count, position));
          position += count;
          if (!options.sparse) writtenEnd = position;
        }
      }
      if (runBytes > 0) await writeRun();
      while (queued.length > 0) await awaitOldest();
      // Makes a trailing hole real (the file was created empty, so nothing lies beyond).
      if (writtenEnd !== options.sizeBytes) await guard(path, () => handle.truncate(options.sizeBytes));
      // Owner, mode and time through the open handle: no path lookups, no symlink can intervene.
      if (options.metadata !== undefined) await this.setHandleMetadata(path, handle, stats, options.metadata.metadata, options.metadata.restoreOwner);
    } catch (error) {
      await Promise.allSettled(queued.map((write) => write.done));
      await handle.close().catch(() => undefined);
      throw error;
    }
    await guard(path, () => handle.close());
  }

  async symlink(path: Buffer, target: Buffer): Promise<void> {
    await guard(path, () => symlink(target, path));
  }

  async link(existingPath: Buffer, path: Buffer): Promise<void> {
    await guard(path, () => link(existingPath, path));
  }

  /**
   * Creates a FIFO or device node with mkfifo/mknod, or a socket by binding one, at an ASCII temporary
   * name in the same directory, applies mode there, then links it into place (failing with EEXIST like
   * mknod(2) would; rename when the file system has no hard links). The tools take string arguments,
   * so the directory is named by its path when that is valid UTF-8, and otherwise through the Linux
   * magic link /proc/self/fd/N of an open directory handle (inherited by the tool as fd 3). Sockets
   * always go through /proc when the path is too long for sun_path. A crash can leave a
   * `.suede-tmp-<hex>` entry behind.
   */
  async mknod(path: Buffer, type: "fifo" | "socket" | "chardev" | "blockdev", mode: number, rdev: bigint): Promise<void> {
    const parent = parentOf(path);
    const tmpName = `.suede-tmp-${toHex(systemRandom.bytes(8))}`;
    const tmpPath = joinPath(parent, Buffer.from(tmpName, "ascii"));
    const parentText = exactUtf8(parent);
    const directArg = parentText === null ? null : joinText(parentText, tmpName);
    const direct =
      directArg !== null && (type !== "socket" || Buffer.byteLength(directArg) <= MAX_SOCKET_PATH_BYTES);

    let dir: FileHandle | null = null;
    let server: Server | null = null;
    let created = false;
    try {
      let tmpArg: string;
      if (direct && directArg !== null) {
        tmpArg = directArg;
      } else {
        dir = await guard(parent, () => open(parent, constants.O_RDONLY | constants.O_DIRECTORY));
        tmpArg = `/proc/self/fd/${type === "socket" ? dir.fd : 3}/${tmpName}`;
      }

      if (type === "socket") {
        server = await guard(path, () => listenUnix(tmpArg));
      } else {
        const argv =
          type === "fifo"
            ? ["mkfifo", "-m", "600", "--", tmpArg]
            : (() => {
                const { major, minor } = splitDevice(rdev);
                return ["mknod", "-m", "600", "--", tmpArg, type === "chardev" ? "c" : "b", String(major), String(minor)];
              })();
        await runTool(path, type, argv, dir?.fd ?? null);
      }
      created = true;
      await guard(path, () => chmod(tmpPath, mode & 0o7777));
      await placeWithoutReplacing(tmpPath, path);
    } finally {
      if (created) await unlink(tmpPath).catch(() => undefined);
      // Node unlinks a socket's bound name on close: the temporary name, already gone by now.
      if (server !== null) {
        const closing = server;
        await new Promise<void>((resolve) => closing.close(() => resolve()));
      }
      if (dir !== null) await dir.close().catch(() => undefined);
    }
  }

  async remove(path: Buffer): Promise<void> {
    await guard(path, () => rm(path, { recursive: true, force: true }));
  }

  /** The same steps as writeFile, once the (small) content is in memory (src/fs/small-file.ts). */
  private async gatherSmallFile(path: Buffer, pieces: AsyncIterable<FilePiece>, options: WriteOptions): Promise<void> {
    const content: FilePiece[] = [];
    for await (const piece of pieces) content.push(piece);
    await (hasWriteTo(content) ? this.writeLargeFile(path, content, options) : this.writeSmall(path, content, options));
  }

  private writeSmall(path: Buffer, content: readonly FilePiece[], options: WriteOptions): Promise<void> {
    return writeSmallFile(
      {
        path,
        content,
        sparse: options.sparse,
        sizeBytes: options.sizeBytes,
        metadata: options.metadata?.metadata ?? null,
        restoreOwner: options.metadata?.restoreOwner ?? false,
        isRoot: this.isRoot,
      },
      this.createPace,
    );
  }

  /**
   * opened is the file's stat after its open: as for small files, a new file that already has the
   * recorded owner gets no chown (and so mostly no chmod): two pool round trips less per file (issue 5).
   */
  private async setHandleMetadata(
    path: Buffer,
    handle: FileHandle,
    opened: { readonly mode: number; readonly uid: number; readonly gid: number },
    metadata: TargetMetadata,
    restoreOwner: boolean,
  ): Promise<void> {
    let chowned = false;
    if (restoreOwner && needsChown(opened, metadata)) {
      try {
        await handle.chown(metadata.uid, metadata.gid);
        chowned = true;
      } catch (error) {
        if (chownRefusalIsFatal(error, this.isRoot)) throw targetError(path, error);
      }
    }
    if (needsChmod(opened.mode, metadata, chowned)) await guard(path, () => handle.chmod(metadata.mode & 0o7777));
    const time = utimesArgument(metadata.mtimeNs);
    await guard(path, () => handle.utimes(time, time));
  }

  /**
   * Owner (lchown; EPERM ignored unless running as root), then mode (after chown, which clears
   * setuid/setgid; not for symlinks, whose mode Linux cannot change), then mtime by lutimes with
   * atime = mtime (rsync -a does not keep atime either), to the microsecond: Node's utimes API takes
   * doubles and libuv truncates to microseconds, so nanoseconds are not restorable from Node 20.
   * A directory (or other non-symlink) is lstat'ed first: lchown and chmod are made only when its
   * owner or mode, as they are now, differ (usr: two syscalls of four per directory, issue 5).
   */
  async setMetadata(path: Buffer, metadata: TargetMetadata, options: { restoreOwner: boolean }): Promise<void> {
    // Synchronous calls: a pool round trip each cost more (issue 5).
    if (metadata.type === "symlink") {
      if (options.restoreOwner) this.lchownOrSkip(path, metadata);
    } else {
      const stats = guardSync(path, () => lstatSync(path));
      // chmod follows symlinks and Linux has no lchmod: refuse if a symlink took the entry's place.
      if (stats.isSymbolicLink()) {
        throw new SuedeError("TARGET_UNWRITABLE", `cannot write ${displayPath(path)}: a symlink is in the way`);
      }
      const chowned = options.restoreOwner && needsChown(stats, metadata) && this.lchownOrSkip(path, metadata);
      if (needsChmod(stats.mode, metadata, chowned)) guardSync(path, () => chmodSync(path, metadata.mode & 0o7777));
    }
    const time = utimesArgument(metadata.mtimeNs);
    guardSync(path, () => lutimesSync(path, time, time));
  }

  /** lchown; whether it was made (a refusal is ignored unless running as root). */
  private lchownOrSkip(path: Buffer, metadata: TargetMetadata): boolean {
    try {
      lchownSync(path, metadata.uid, metadata.gid);
      return true;
    } catch (error) {
      if (chownRefusalIsFatal(error, this.isRoot)) throw targetError(path, error);
      return false;
    }
  }

}

type WriteOptions = Parameters<TargetFs["writeFile"]>[2];

function isPieceArray(pieces: AsyncIterable<FilePiece> | readonly FilePiece[]): pieces is readonly FilePiece[] {
  return Array.isArray(pieces);
}

/** Runs a synchronous fs step and wraps its OS error for path. */
function guardSync<T>(path: Uint8Array, step: () => T): T {
  try {
    return step();
  } catch (error) {
    throw targetError(path, error);
  }
}

/** Runs an fs step and wraps its OS error for path. */
async function guard<T>(path: Uint8Array, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw targetError(path, error);
  }
}

async function writeAll(handle: FileHandle, buffers: readonly Uint8Array[], position: number): Promise<void> {
  let pending = buffers.filter((buffer) => buffer.byteLength > 0);
  while (pending.length > 0) {
    let { bytesWritten } = await handle.writev(pending, position);
    if (bytesWritten <= 0) throw new Error("write made no progress");
    position += bytesWritten;
    while (pending.length > 0 && bytesWritten >= pending[0]!.byteLength) bytesWritten -= pending.shift()!.byteLength;
    if (bytesWritten > 0) pending[0] = pending[0]!.subarray(bytesWritten);
  }
}

async function writeZeros(handle: FileHandle, count: number, position: number): Promise<void> {
  const chunk = zeros();
  let done = 0;
  while (done < count) {
    await writeAll(handle, [chunk.subarray(0, Math.min(chunk.byteLength, count - done))], position + done);
    done += Math.min(chunk.byteLength, count - done);
  }
}

/** The directory part of a path: "/" for "/x", "." for a bare name. */
function parentOf(path: Buffer): Buffer {
  let end = path.byteLength;
  while (end > 1 && path[end - 1] === 0x2f) end -= 1;
  const slash = path.lastIndexOf(0x2f, end - 1);
  assert(end > 0 && slash !== end - 1, `no entry name in ${displayPath(path)}`);
  if (slash < 0) return Buffer.from(".");
  if (slash === 0) return Buffer.from("/");
  return path.subarray(0, slash);
}

/** The path as a string that Node encodes back to exactly the same bytes, or null. */
function exactUtf8(path: Buffer): string | null {
  const text = path.toString("utf8");
  return Buffer.from(text, "utf8").equals(path) ? text : null;
}

function joinText(parent: string, name: string): string {
  return parent.endsWith("/") ? parent + name : `${parent}/${name}`;
}

function listenUnix(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/** Runs mkfifo/mknod; dirFd, when given, becomes the tool's fd 3. Failures become SuedeErrors for path. */
async function runTool(path: Buffer, type: string, argv: string[], dirFd: number | null): Promise<void> {
  const [command, ...args] = argv;
  assert(command !== undefined);
  const stdio: ("ignore" | "pipe" | number)[] = ["ignore", "ignore", "pipe"];
  if (dirFd !== null) stdio.push(dirFd);
  let stderr = "";
  let exitCode: number | null;
  try {
    exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, { stdio, env: { ...process.env, LC_ALL: "C" } });
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (text: string) => {
        stderr += text;
      });
      child.once("error", reject);
      child.once("close", (code) => resolve(code));
    });
  } catch (error) {
    const reason = isErrno(error, "ENOENT") ? `${command} not found` : errorReason(error);
    throw new SuedeError("TARGET_UNWRITABLE", `cannot create ${type} ${displayPath(path)}: ${reason}`, { cause: error });
  }
  if (exitCode === 0) return;
  // Tool messages end in ": <strerror>" after the (temporary) name.
  const message = stderr.trim();
  const reason = message.slice(message.lastIndexOf(": ") + 2) || `${command} exited with ${exitCode}`;
  if (/no space left|quota exceeded/i.test(reason)) {
    throw new SuedeError("NO_SPACE", `no space left on device while writing ${displayPath(path)}`);
  }
  if (type !== "fifo" && /operation not permitted/i.test(reason)) {
    throw new SuedeError("TARGET_UNWRITABLE", `cannot create device node ${displayPath(path)}: needs root`);
  }
  throw new SuedeError("TARGET_UNWRITABLE", `cannot create ${type} ${displayPath(path)}: ${reason}`);
}

/** Moves tmp to path unless something is at path (EEXIST), as mknod(2) would. tmp stays for the caller to remove. */
async function placeWithoutReplacing(tmp: Buffer, path: Buffer): Promise<void> {
  try {
    await link(tmp, path);
    return;
  } catch (error) {
    if (!isErrno(error, "EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EMLINK")) throw targetError(path, error);
  }
  // No hard links here: check, then rename (the check and the rename are not atomic together).
  let exists = true;
  try {
    await lstat(path);
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw targetError(path, error);
    exists = false;
  }
  if (exists) {
    throw new SuedeError("TARGET_UNWRITABLE", `cannot write ${displayPath(path)}: file exists (EEXIST)`);
  }
  await guard(path, () => rename(tmp, path));
}

/** Creates a directory and its parents (the restore target). */
export async function ensureDirectory(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

export async function isEmptyDirectory(path: string): Promise<boolean> {
  return (await readdir(path)).length === 0;
}
