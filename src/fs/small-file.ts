/**
 * Writing one small restored file: open (O_NOFOLLOW, O_NONBLOCK), check it is a regular file, write
 * its bytes (holes skipped when sparse), truncate to size, owner, mode and time through the fd,
 * close. Synchronous calls (the open too while creates are fast, see CreatePace): for many small
 * files, handing each call to the libuv pool (a thread wake-up and a promise) costs the main thread
 * more than making the call itself.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, ftruncateSync, futimesSync, open, openSync, writevSync } from "node:fs";
import type { FilePiece, TargetMetadata } from "../core/ports.ts";
import type { CreatePace } from "./create-pace.ts";
import { chownRefusalIsFatal, notRegularFileError, openForWriteError, targetError } from "./target-error.ts";
import { utimesArgument } from "./utimes.ts";

export const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** Mode of a file while it is written when an owner change follows; the metadata step applies the real one. */
export const CREATE_MODE = 0o600;

const EUID = process.geteuid?.() ?? -1;
const EGID = process.getegid?.() ?? -1;

/**
 * The mode a restored file is created with: its own permission bits (less the umask) when no chown
 * will follow, so the metadata step mostly has no fchmod to make (one syscall per file, issue 5);
 * CREATE_MODE when the owner changes after the write, so the bytes are never readable under the
 * restoring user's group or world bits before the real owner is in place.
 */
export function createMode(metadata: TargetMetadata | null, restoreOwner: boolean): number {
  if (metadata === null) return CREATE_MODE;
  if (restoreOwner && (metadata.uid !== EUID || metadata.gid !== EGID)) return CREATE_MODE;
  return metadata.mode & 0o777;
}

/** Whether a file or directory, as it is now, needs an lchown/fchown to get the recorded owner. */
export function needsChown(current: { readonly uid: number; readonly gid: number }, metadata: TargetMetadata): boolean {
  return current.uid !== metadata.uid || current.gid !== metadata.gid;
}

/**
 * Whether the file still needs its mode set, given its mode when opened: after a chown (which may
 * clear setuid/setgid), for setuid/setgid/sticky bits (never created, and a write by a non-root user
 * clears them), or when the umask or an existing file (--overwrite) left other bits.
 */
export function needsChmod(openedMode: number, metadata: TargetMetadata, chowned: boolean): boolean {
  return chowned || (metadata.mode & 0o7000) !== 0 || (openedMode & 0o7777) !== (metadata.mode & 0o7777);
}

/** A small file with all its pieces in memory (data and zero runs: no writeTo pieces). */
export interface SmallFile {
  readonly path: Buffer;
  readonly content: readonly FilePiece[];
  readonly sparse: boolean;
  readonly sizeBytes: number;
  readonly metadata: TargetMetadata | null;
  readonly restoreOwner: boolean;
  /** Running as root: a refused chown is then an error, not a skipped step. */
  readonly isRoot: boolean;
}

/** What a small file's write resolves to when it completed synchronously: one shared promise, no allocation. */
const DONE: Promise<void> = Promise.resolve();

/**
 * Writes a small file with synchronous calls; the open (which allocates the inode) goes to the
 * libuv pool while pace says creates are slow, so they overlap instead of stopping the walk. Not an
 * async function: while creates are fast the whole file is written before it returns, and the
 * caller gets a shared resolved promise, not a frame and a promise per file (issue 5).
 */
export function writeSmallFile(file: SmallFile, pace: CreatePace): Promise<void> {
  const { path } = file;
  const mode = createMode(file.metadata, file.restoreOwner);
  if (!pace.synchronous()) {
    return openFd(path, WRITE_FLAGS, mode).then(
      (fd) => fillAndClose(file, fd),
      (error: unknown) => {
        throw openForWriteError(path, error);
      },
    );
  }
  let fd: number;
  const start = process.hrtime.bigint();
  try {
    fd = openSync(path, WRITE_FLAGS, mode);
  } catch (error) {
    return Promise.reject(openForWriteError(path, error));
  } finally {
    pace.measured(Number(process.hrtime.bigint() - start));
  }
  try {
    fillAndClose(file, fd);
  } catch (error) {
    return Promise.reject(error);
  }
  return DONE;
}

/** Writes the content (data and zero pieces only), size, owner, mode and time through fd, and closes it. */
function fillAndClose(file: SmallFile, fd: number): void {
  const { path } = file;
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notRegularFileError(path);
    let position = 0;
    let writtenEnd = 0;
    // Adjacent pieces go out in one writev: a file of several chunks costs one write.
    let run: Uint8Array[] = [];
    let runStart = 0;
    for (const piece of file.content) {
      if ("writeTo" in piece) throw new Error("writeTo piece in a small file");
      const bytes = "data" in piece ? piece.data.byteLength : piece.zeroBytes;
      const data = "data" in piece ? piece.data : file.sparse ? null : new Uint8Array(bytes);
      if (data === null) {
        if (run.length > 0) writeAllSync(fd, run, runStart);
        run = [];
      } else {
        if (run.length === 0) runStart = position;
        run.push(data);
        writtenEnd = position + bytes;
      }
      position += bytes;
    }
    if (run.length > 0) writeAllSync(fd, run, runStart);
    if (writtenEnd !== file.sizeBytes) ftruncateSync(fd, file.sizeBytes);
    if (file.metadata !== null) {
      const { metadata } = file;
      // A new file already has the restoring user's owner: restoring root's files as root skips the call.
      let chowned = false;
      if (file.restoreOwner && needsChown(stats, metadata)) {
        try {
          fchownSync(fd, metadata.uid, metadata.gid);
          chowned = true;
        } catch (error) {
          if (chownRefusalIsFatal(error, file.isRoot)) throw error;
        }
      }
      if (needsChmod(stats.mode, metadata, chowned)) fchmodSync(fd, metadata.mode & 0o7777);
      const time = utimesArgument(metadata.mtimeNs);
      futimesSync(fd, time, time);
    }
  } catch (error) {
    throw targetError(path, error);
  } finally {
    closeSync(fd);
  }
}

/** Whether any piece is written by the vault itself (those need an fd held open across awaits). */
export function hasWriteTo(pieces: readonly FilePiece[]): boolean {
  for (const piece of pieces) if ("writeTo" in piece) return true;
  return false;
}

function openFd(path: Buffer, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, mode, (error, fd) => (error === null ? resolve(fd) : reject(error))));
}

/** writev until every byte of buffers is written at position (short writes resume where they stopped). */
export function writeAllSync(fd: number, buffers: Uint8Array[], position: number): void {
  let pending = buffers.filter((buffer) => buffer.byteLength > 0);
  while (pending.length > 0) {
    let written = writevSync(fd, pending, position);
    if (written <= 0) throw new Error("write made no progress");
    position += written;
    while (pending.length > 0 && written >= pending[0]!.byteLength) written -= pending.shift()!.byteLength;
    if (written > 0) pending[0] = pending[0]!.subarray(written);
  }
}
