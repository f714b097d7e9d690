/** The data model shared by every layer: nodes, trees and snapshots. docs/ARCHITECTURE.md glossary. */
import type { BlobId } from "./ids.ts";

export type NodeType = "file" | "dir" | "symlink" | "fifo" | "socket" | "chardev" | "blockdev";

/** One chunk of a file: its blob ID (HOLE_ID for a zero run) and plaintext size. */
export interface ChunkRef {
  readonly id: BlobId;
  readonly sizeBytes: number;
}

/** A directory entry with full metadata. Names and link targets are raw bytes (never lossy). */
export interface Node {
  readonly name: Uint8Array;
  readonly type: NodeType;
  /** Permission bits including setuid, setgid and sticky (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly user: string;
  readonly group: string;
  readonly mtimeNs: bigint;
  /** ctime, inode and device are kept only to detect changes against the parent snapshot. */
  readonly ctimeNs: bigint;
  readonly inode: bigint;
  readonly device: bigint;
  readonly nlink: number;
  readonly sizeBytes: number;
  /** file: chunk list; hole chunks are zero runs. */
  readonly chunks?: readonly ChunkRef[];
  /** file: had holes in the source (st_blocks below size): zero runs are restored as holes. */
  readonly sparse?: boolean;
  /** dir: the tree parts holding its entries, in name order. */
  readonly subtree?: readonly BlobId[];
  /** symlink: target bytes. */
  readonly linkTarget?: Uint8Array;
  /** chardev/blockdev: the device number. */
  readonly rdev?: bigint;
  readonly xattrs?: readonly (readonly [Uint8Array, Uint8Array])[];
  /** The entry exists but its content could not be read at backup time. */
  readonly unreadable?: string;
}

export interface SnapshotStats {
  readonly files: number;
  readonly dirs: number;
  readonly sizeBytes: number;
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnchanged: number;
  readonly bytesRead: number;
  readonly bytesAdded: number;
  readonly durationMs: number;
  readonly skipped: number;
}

export interface Snapshot {
  /** 1, 2, 3 … never reused within a vault. */
  readonly number: number;
  readonly timeMs: number;
  readonly host: string;
  readonly user: string;
  /** Absolute source paths as given (normalized). */
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly pinned: boolean;
  readonly parent: number | null;
  /** Tree parts of the synthetic root directory that holds the sources by absolute path. */
  readonly root: readonly BlobId[];
  readonly stats: SnapshotStats;
}
