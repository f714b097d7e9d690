/**
 * The vault file handle: positioned reads and writes and durable syncs. The vault's file I/O goes
 * through here (lock.ts owns the lock file; vault.ts only creates and links a new vault). A failed fsync poisons the handle: Linux may have dropped the dirty pages,
 * so a later "successful" fsync proves nothing (fsyncgate).
 */
import { constants, type FileHandle, open, realpath, unlink } from "node:fs/promises";
import { SuedeError, ioError, isErrno } from "../errors/errors.ts";

export class VaultFile {
  private poisoned: SuedeError | null = null;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly writable: boolean,
  ) {}

  static async open(path: string, options: { writable: boolean; create?: boolean }): Promise<VaultFile> {
    let flags = options.writable ? constants.O_RDWR : constants.O_RDONLY;
    if (options.create === true) flags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL;
    try {
      const handle = await open(path, flags, 0o600);
      const stat = await handle.stat();
      if (!stat.isFile()) {
        await handle.close();
        throw new SuedeError("NOT_A_VAULT", `${path} is not a regular file`);
      }
      return new VaultFile(path, handle, options.writable || options.create === true);
    } catch (error) {
      if (error instanceof SuedeError) throw error;
      if (isErrno(error, "ENOENT")) throw new SuedeError("VAULT_NOT_FOUND", `vault not found: ${path}`, { cause: error });
      if (isErrno(error, "EEXIST")) throw new SuedeError("VAULT_EXISTS", `refusing to overwrite existing file ${path}`, { cause: error });
      if (isErrno(error, "EISDIR")) throw new SuedeError("NOT_A_VAULT", `${path} is a directory, not a vault`, { cause: error });
      throw ioError(`opening ${path}`, error);
    }
  }

  /** Device, inode and real path of the file (so a backup can leave the vault itself out). */
  async identity(): Promise<{ device: bigint; inode: bigint; realPath: string; sizeBytes: number }> {
    const stat = await this.handle.stat({ bigint: true });
    return { device: stat.dev, inode: stat.ino, realPath: await realpath(this.path), sizeBytes: Number(stat.size) };
  }

  async sizeBytes(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  /** Reads exactly length bytes, or fewer at the end of the file (callers check). */
  async readAt(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(buffer, done, length - done, offset + done));
      } catch (error) {
        throw ioError(`reading ${this.path} at offset ${offset + done}`, error);
      }
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === length ? buffer : buffer.subarray(0, done);
  }

  private check(): void {
    if (this.poisoned !== null) throw this.poisoned;
  }

  async writeAt(offset: number, buffers: readonly Uint8Array[]): Promise<void> {
    this.check();
    let position = offset;
    let pending = buffers.filter((b) => b.byteLength > 0);
    try {
      while (pending.length > 0) {
        const { bytesWritten } = await this.handle.writev(pending as Uint8Array[], position);
        position += bytesWritten;
        pending = skipWritten(pending, bytesWritten);
      }
    } catch (error) {
      throw ioError(`writing ${this.path}`, error);
    }
  }

  /** fdatasync; on failure the handle refuses all further writes. */
  async sync(): Promise<void> {
    this.check();
    try {
      await this.handle.datasync();
    } catch (error) {
      this.poisoned = ioError(`syncing ${this.path} (the last changes may be lost; the vault stays at its last commit)`, error);
      throw this.poisoned;
    }
  }

  async truncate(sizeBytes: number): Promise<void> {
    this.check();
    try {
      await this.handle.truncate(sizeBytes);
    } catch (error) {
      throw ioError(`truncating ${this.path}`, error);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function skipWritten(buffers: readonly Uint8Array[], bytesWritten: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = bytesWritten;
  for (const buffer of buffers) {
    if (skip >= buffer.byteLength) {
      skip -= buffer.byteLength;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}

/** Makes a rename or link in a directory durable (the entry itself, not just the file, must reach the disk). */
export async function syncDirectory(path: string): Promise<void> {
  try {
    const handle = await open(path, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw ioError(`syncing directory ${path}`, error);
  }
}

/** Removes a file this process created and could not finish (a missing file is fine). */
export async function discardFile(path: string): Promise<void> {
  await unlink(path).catch((error: unknown) => {
    if (!isErrno(error, "ENOENT")) throw ioError(`removing ${path}`, error);
  });
}
