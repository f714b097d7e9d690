/**
 * The interfaces through which pipelines (backup, restore, snapshot) see storage and file systems.
 * The vault implements BlobStore; fs/ implements SourceFs and TargetFs. Nothing here does I/O.
 */
import type { BlobId } from "./ids.ts";
import type { NodeType } from "./types.ts";

export type BlobKind = "data" | "tree" | "snapshot";

/** Key material for worker threads that seal data records where the data is read. */
export interface SealingSpec {
  readonly recordKeys: { readonly vaultId: Uint8Array; readonly recordBase: Uint8Array };
  readonly compressionLevel: number;
  readonly chunkerKey: Uint8Array;
  readonly blobIdKey: Uint8Array;
}

export interface BlobStore {
  /** True when a blob with this ID is stored, or claimed by this session. */
  hasBlob(id: BlobId): boolean;
  /** Stores a blob (compressed and encrypted by the store) unless it is present; resolves to the bytes the vault grew by. */
  putBlob(kind: BlobKind, id: BlobId, plaintext: Uint8Array): Promise<number>;
  /** True when the caller must supply this data blob (sealed, via putSealedBlob); the ID is then claimed. */
  claimBlob(id: BlobId): boolean;
  /** Appends a claimed data blob that a worker sealed with sealingSpec(); resolves to the bytes added. */
  putSealedBlob(id: BlobId, record: Uint8Array, rawLength: number): Promise<number>;
  /**
   * Optional, with writesBehind: putSealedBlob in one synchronous step, without its wait for the
   * writes; the caller waits on writesBehind() instead (one step per small file, issue 5).
   */
  putSealedBlobNow?(id: BlobId, record: Uint8Array, rawLength: number): number;
  /** What putSealedBlob waits on after its append: the writes catching up; null when they are not behind. */
  writesBehind?(): Promise<void> | null;
  sealingSpec(): SealingSpec;
  /** Reads, authenticates and decompresses a blob; VaultCorruptError when it fails to. */
  getBlob(id: BlobId): Promise<Uint8Array>;
  /**
   * Optional: getBlob's plaintext written at position of the open file fd (by the thread that
   * opens the record, so restoring a big file does not move its bytes through the caller's thread);
   * resolves to its length. Nothing is written unless the record authenticates and decompresses.
   * The caller keeps fd open until the promise settles.
   */
  writeBlobTo?(id: BlobId, fd: number, position: number): Promise<number>;
  /** The keyed hash that names blobs in this vault. */
  blobId(plaintext: Uint8Array): BlobId;
}

/** lstat result with full precision. Paths everywhere in fs/ are raw bytes (Buffer). */
export interface SourceStat {
  readonly type: NodeType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly sizeBytes: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly inode: bigint;
  readonly device: bigint;
  readonly rdev: bigint;
  readonly nlink: number;
  /** Allocated 512-byte blocks; below sizeBytes/512 means the file has holes. */
  readonly blocks: number;
}

export interface SourceFs {
  lstat(path: Buffer): Promise<SourceStat>;
  /** Like lstat, but follows symlinks (for the directories above a source). */
  stat(path: Buffer): Promise<SourceStat>;
  readlink(path: Buffer): Promise<Buffer>;
  userName(uid: number): string;
  groupName(gid: number): string;
}

/** Metadata that restore applies to an entry after creating it. */
export interface TargetMetadata {
  readonly type: NodeType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeNs: bigint;
}

/**
 * One piece of a file being restored: bytes, a run of zeros (a hole when the file is sparse), or
 * sizeBytes that writeTo puts at a position of the open file (BlobStore.writeBlobTo). The writer
 * may start several writeTo at once and keeps fd open until each has settled.
 */
export type FilePiece =
  | { readonly data: Uint8Array }
  | { readonly zeroBytes: number }
  | { readonly sizeBytes: number; readonly writeTo: (fd: number, position: number) => Promise<void> };

/**
 * Where restore writes. Every path is absolute raw bytes inside a target root chosen by the caller;
 * implementations never follow a symlink that already exists in the target.
 */
export interface TargetFs {
  /** The type of what exists at path (not following symlinks), or null. */
  existingType(path: Buffer): Promise<NodeType | null>;
  /** Creates a directory; an existing directory is kept. */
  mkdir(path: Buffer): Promise<void>;
  /**
   * Creates or replaces a regular file with the pieces; zero runs become holes when sparse. With metadata, also sets it (as setMetadata would).
   * Pieces already in memory come as an array (a small file's whole content: no iteration step per piece).
   */
  writeFile(
    path: Buffer,
    pieces: AsyncIterable<FilePiece> | readonly FilePiece[],
    options: { sparse: boolean; sizeBytes: number; metadata?: { metadata: TargetMetadata; restoreOwner: boolean } },
  ): Promise<void>;
  symlink(path: Buffer, target: Buffer): Promise<void>;
  /** A hard link to an entry restored earlier in the same run. */
  link(existingPath: Buffer, path: Buffer): Promise<void>;
  /** FIFOs, sockets and device nodes; devices need root. */
  mknod(path: Buffer, type: "fifo" | "socket" | "chardev" | "blockdev", mode: number, rdev: bigint): Promise<void>;
  /** Removes whatever is at path (recursively for directories), for --overwrite. */
  remove(path: Buffer): Promise<void>;
  /** Owner (when restoreOwner), mode (not for symlinks) and mtime, in that order. */
  setMetadata(path: Buffer, metadata: TargetMetadata, options: { restoreOwner: boolean }): Promise<void>;
}
