/**
 * A directory listing packed into a few typed arrays for the trip from a file worker to the main
 * thread: one transfer of flat buffers instead of a structured clone of an object (with five
 * bigints) per entry, which cost the main thread more than the walk itself on a no-change re-run.
 */
import { type BlobId, BLOB_ID_SIZE_BYTES } from "../core/ids.ts";
import type { SourceStat } from "../core/ports.ts";
import type { NodeType } from "../core/types.ts";
import type { EntryError } from "../fs/node-source-fs.ts";

const TYPES: readonly NodeType[] = ["file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"];
/** Per entry: type code (-1: lstat failed), mode, uid, gid, size, nlink, blocks. */
const NUMBERS = 7;
/** Per entry: mtime, ctime, inode, device, rdev (the last three unsigned, stored as their bit pattern). */
const BIGINTS = 5;

export interface PackedListing {
  /** The names one after another, in byte order. */
  readonly names: Uint8Array;
  readonly nameEnds: Uint32Array;
  readonly numbers: Float64Array;
  readonly bigints: BigInt64Array;
  /** Why lstat failed, for entries with type code -1, by entry index. */
  readonly errors: readonly (readonly [number, EntryError])[];
}

export interface Listing {
  readonly names: Buffer[];
  readonly stats: (SourceStat | EntryError)[];
}

export function packListing(listing: Listing): PackedListing {
  const count = listing.names.length;
  let nameBytes = 0;
  for (const name of listing.names) nameBytes += name.byteLength;
  const names = new Uint8Array(nameBytes);
  const nameEnds = new Uint32Array(count);
  const numbers = new Float64Array(count * NUMBERS);
  const bigints = new BigInt64Array(count * BIGINTS);
  const errors: [number, EntryError][] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    names.set(listing.names[i]!, at);
    at += listing.names[i]!.byteLength;
    nameEnds[i] = at;
    const stat = listing.stats[i]!;
    const n = i * NUMBERS;
    if (!("type" in stat)) {
      numbers[n] = -1;
      errors.push([i, stat]);
      continue;
    }
    numbers[n] = TYPES.indexOf(stat.type);
    numbers[n + 1] = stat.mode;
    numbers[n + 2] = stat.uid;
    numbers[n + 3] = stat.gid;
    numbers[n + 4] = stat.sizeBytes;
    numbers[n + 5] = stat.nlink;
    numbers[n + 6] = stat.blocks;
    const b = i * BIGINTS;
    bigints[b] = stat.mtimeNs;
    bigints[b + 1] = stat.ctimeNs;
    bigints[b + 2] = BigInt.asIntN(64, stat.inode);
    bigints[b + 3] = BigInt.asIntN(64, stat.device);
    bigints[b + 4] = BigInt.asIntN(64, stat.rdev);
  }
  return { names, nameEnds, numbers, bigints, errors };
}

/** The buffers to transfer with a packed listing. */
export function transferables(packed: PackedListing): ArrayBuffer[] {
  return [packed.names.buffer, packed.nameEnds.buffer, packed.numbers.buffer, packed.bigints.buffer] as ArrayBuffer[];
}

export function unpackListing(packed: PackedListing): Listing {
  const { numbers, bigints } = packed;
  const count = packed.nameEnds.length;
  const errors = new Map(packed.errors);
  const names: Buffer[] = new Array<Buffer>(count);
  const stats: (SourceStat | EntryError)[] = new Array<SourceStat | EntryError>(count);
  const all = Buffer.from(packed.names.buffer, packed.names.byteOffset, packed.names.byteLength);
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = packed.nameEnds[i]!;
    names[i] = all.subarray(start, end);
    start = end;
    const n = i * NUMBERS;
    const type = TYPES[numbers[n]!];
    if (type === undefined) {
      stats[i] = errors.get(i) ?? { code: "EIO", message: "lstat failed" };
      continue;
    }
    const b = i * BIGINTS;
    stats[i] = {
      type,
      mode: numbers[n + 1]!,
      uid: numbers[n + 2]!,
      gid: numbers[n + 3]!,
      sizeBytes: numbers[n + 4]!,
      mtimeNs: bigints[b]!,
      ctimeNs: bigints[b + 1]!,
      inode: BigInt.asUintN(64, bigints[b + 2]!),
      device: BigInt.asUintN(64, bigints[b + 3]!),
      rdev: BigInt.asUintN(64, bigints[b + 4]!),
      nlink: numbers[n + 5]!,
      blocks: numbers[n + 6]!,
    };
  }
  return { names, stats };
}

/** The parent snapshot's subtree part IDs of a listing's directory entries, in listing order. */
export interface PackedSubtrees {
  readonly counts: Uint32Array;
  readonly ids: Uint8Array;
}

export function packSubtrees(subtrees: readonly (readonly Uint8Array[])[]): PackedSubtrees {
  const counts = new Uint32Array(subtrees.length);
  let total = 0;
  subtrees.forEach((parts, i) => {
    counts[i] = parts.length;
    total += parts.length;
  });
  const ids = new Uint8Array(total * BLOB_ID_SIZE_BYTES);
  let at = 0;
  for (const parts of subtrees) {
    for (const id of parts) {
      ids.set(id, at);
      at += BLOB_ID_SIZE_BYTES;
    }
  }
  return { counts, ids };
}

export function unpackSubtrees(packed: PackedSubtrees): BlobId[][] {
  const subtrees: BlobId[][] = [];
  let at = 0;
  for (const count of packed.counts) {
    const parts: BlobId[] = [];
    for (let i = 0; i < count; i++, at += BLOB_ID_SIZE_BYTES) parts.push(packed.ids.subarray(at, at + BLOB_ID_SIZE_BYTES));
    subtrees.push(parts);
  }
  return subtrees;
}
