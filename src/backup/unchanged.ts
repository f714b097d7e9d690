/**
 * What a backup keeps from the parent snapshot without reading: the node an entry gets from its
 * lstat, and whether it equals the parent's node field for field (then the parent's encoded tree
 * parts can be reused). Pure, so the main thread and the file workers (which compare a listing with
 * the parent's entries) decide alike.
 */
import type { BlobId } from "../core/ids.ts";
import type { SourceStat } from "../core/ports.ts";
import type { ChunkRef, Node } from "../core/types.ts";
import { TreePartScanner } from "../snapshot/tree-codec.ts";

export interface AccountNames {
  userName(uid: number): string;
  groupName(gid: number): string;
}

/** The node for an entry as lstat describes it, plus its content fields. */
export function nodeFromStat(names: AccountNames, name: Uint8Array, stat: SourceStat, extra: Partial<Node>): Node {
  return {
    name: new Uint8Array(name), // a copy: names arrive as views into larger buffers (Uint8Array.from iterates, slowly)
    type: stat.type,
    mode: stat.mode,
    uid: stat.uid,
    gid: stat.gid,
    user: names.userName(stat.uid),
    group: names.groupName(stat.gid),
    mtimeNs: stat.mtimeNs,
    ctimeNs: stat.ctimeNs,
    inode: stat.inode,
    device: stat.device,
    nlink: stat.nlink,
    sizeBytes: stat.type === "file" || stat.type === "symlink" ? stat.sizeBytes : 0,
    ...extra,
  };
}

/** Size, mtime, ctime and inode as in the parent snapshot: the content cannot have changed. */
function sameStatIdentity(stat: SourceStat, before: Node): boolean {
  return before.sizeBytes === stat.sizeBytes && before.mtimeNs === stat.mtimeNs && before.ctimeNs === stat.ctimeNs && before.inode === stat.inode;
}

/** A regular file whose parent-snapshot chunk list can be kept without reading it. */
export function isUnchangedFile(stat: SourceStat, before: Node | null): before is Node & { chunks: readonly ChunkRef[] } {
  return before !== null && before.type === "file" && before.unreadable === undefined && before.chunks !== undefined && sameStatIdentity(stat, before);
}

/** A symlink whose parent-snapshot target can be kept: a target cannot change in place, so the same inode and ctime mean the same target. */
export function isUnchangedSymlink(stat: SourceStat, before: Node | null): before is Node & { linkTarget: Uint8Array } {
  return before?.type === "symlink" && before.linkTarget !== undefined && before.unreadable === undefined && sameStatIdentity(stat, before);
}

export function isSparse(stat: SourceStat): boolean {
  return stat.blocks * 512 < stat.sizeBytes;
}

/**
 * The node a non-directory entry gets without any I/O, or null when it needs reading (a changed or
 * new file, a symlink to read). Devices, FIFOs and sockets never need I/O.
 */
export function nodeWithoutIo(names: AccountNames, name: Uint8Array, stat: SourceStat, before: Node | null): Node | null {
  switch (stat.type) {
    case "file":
      return isUnchangedFile(stat, before) ? nodeFromStat(names, name, stat, { chunks: before.chunks, ...(isSparse(stat) ? { sparse: true } : {}) }) : null;
    case "symlink":
      return isUnchangedSymlink(stat, before) ? nodeFromStat(names, name, stat, { linkTarget: before.linkTarget }) : null;
    case "chardev":
    case "blockdev":
      return nodeFromStat(names, name, stat, { rdev: stat.rdev });
    case "fifo":
    case "socket":
      return nodeFromStat(names, name, stat, {});
    case "dir":
      return null;
  }
}

/** Every field the tree codec writes is equal (so both encode to the same bytes). */
export function sameNode(a: Node, b: Node): boolean {
  return (
    a.type === b.type &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.user === b.user &&
    a.group === b.group &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs &&
    a.inode === b.inode &&
    a.device === b.device &&
    a.nlink === b.nlink &&
    a.sizeBytes === b.sizeBytes &&
    (a.sparse === true) === (b.sparse === true) &&
    a.rdev === b.rdev &&
    a.unreadable === b.unreadable &&
    a.xattrs === undefined &&
    b.xattrs === undefined &&
    sameIds(a.chunks, b.chunks) &&
    sameIds(a.subtree, b.subtree) &&
    sameBytes(a.linkTarget, b.linkTarget)
  );
}

export function sameIds(a: readonly (ChunkRef | BlobId)[] | undefined, b: readonly (ChunkRef | BlobId)[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x instanceof Uint8Array || y instanceof Uint8Array) {
      if (!(x instanceof Uint8Array && y instanceof Uint8Array && Buffer.compare(x, y) === 0)) return false;
    } else if (x.sizeBytes !== y.sizeBytes || Buffer.compare(x.id, y.id) !== 0) {
      return false;
    }
  }
  return true;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.compare(a, b) === 0;
}

/** User and group names as UTF-8, once per ID: a listing is compared with the parent's bytes. */
export class AccountBytes {
  private readonly users = new Map<number, Buffer>();
  private readonly groups = new Map<number, Buffer>();

  constructor(private readonly names: AccountNames) {}

  user(uid: number): Buffer {
    let bytes = this.users.get(uid);
    if (bytes === undefined) this.users.set(uid, (bytes = Buffer.from(this.names.userName(uid), "utf8")));
    return bytes;
  }

  group(gid: number): Buffer {
    let bytes = this.groups.get(gid);
    if (bytes === undefined) this.groups.set(gid, (bytes = Buffer.from(this.names.groupName(gid), "utf8")));
    return bytes;
  }
}

/** The range [start, end) of part holds exactly these bytes. */
function rangeIs(part: Buffer, start: number, end: number, bytes: Uint8Array): boolean {
  return end - start === bytes.byteLength && compareRange(part, start, end, bytes, 0, bytes.byteLength) === 0;
}

/**
 * Buffer.compare of a[aStart, aEnd) with b[bStart, bEnd), in a loop: names and account names are
 * a few bytes, where Buffer.compare's argument checks and native call cost a fifth of matchParent.
 */
function compareRange(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const length = Math.min(aEnd - aStart, bEnd - bStart);
  for (let k = 0; k < length; k++) {
    const difference = a[aStart + k]! - b[bStart + k]!;
    if (difference !== 0) return difference < 0 ? -1 : 1;
  }
  const sizes = aEnd - aStart - (bEnd - bStart);
  return sizes === 0 ? 0 : sizes < 0 ? -1 : 1;
}

/** The range [start, end) of part holds the decimal digits of value (as encodeTreePart writes it). */
function rangeIsDecimal(part: Buffer, start: number, end: number, value: bigint): boolean {
  const digits = value.toString();
  if (end - start !== digits.length) return false;
  for (let i = 0; i < digits.length; i++) if (part[start + i] !== digits.charCodeAt(i)) return false;
  return true;
}

export interface ListingToMatch {
  readonly names: readonly Uint8Array[];
  readonly stats: readonly (SourceStat | unknown)[];
}

/** Per listing entry in ParentMatch.entries: the parent entry's part (-1: no entry of that name), start, end, and 1 when it is the same. */
export const MATCH_FIELDS = 4;

export interface ParentMatch {
  /** MATCH_FIELDS numbers per listing entry. */
  readonly entries: Int32Array;
  /** The parent's subtree IDs of the listing's directories found the same, in listing order. */
  readonly subtrees: Uint8Array[][];
  /** Every entry the same, and the parent has no other. */
  readonly unchanged: boolean;
}

/**
 * The listing joined by name with the parent's entries (both are in name byte order): where each
 * entry's encoded bytes are in the parent's parts and whether the node nodeWithoutIo would build
 * is sameNode to the parent's (directories apart from their subtree). Then the walk copies those
 * bytes instead of decoding and re-encoding the entry. Reads the encoded parts in place
 * (TreePartScanner): decoding them into Nodes cost the file workers most of a no-change re-run.
 * Null when a part does not scan or its names are out of order (the walk then decodes it and
 * reports what is wrong).
 */
export function matchParent(accounts: AccountBytes, listing: ListingToMatch, parts: readonly Uint8Array[]): ParentMatch | null {
  const count = listing.names.length;
  const entries = new Int32Array(count * MATCH_FIELDS).fill(-1);
  const subtrees: Uint8Array[][] = [];
  let i = 0;
  let parentCount = 0;
  let same = 0;
  // The previous parent name, to check the order the join relies on.
  let previousPart: Buffer | null = null;
  let previousStart = 0;
  let previousEnd = 0;
  try {
    for (let p = 0; p < parts.length; p++) {
      const bytes = parts[p]!;
      const part = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const entry = new TreePartScanner(bytes);
      while (entry.next()) {
        parentCount++;
        if (previousPart !== null && compareRange(previousPart, previousStart, previousEnd, part, entry.nameStart, entry.nameEnd) >= 0) return null;
        previousPart = part;
        previousStart = entry.nameStart;
        previousEnd = entry.nameEnd;
        // Listing names before this parent name are new.
        let order = 1; // the parent's name against the listing's
        while (i < count && (order = compareRange(part, entry.nameStart, entry.nameEnd, listing.names[i]!, 0, listing.names[i]!.byteLength)) > 0) i++;
        if (i >= count || order < 0) continue; // a name the listing does not have
        const at = i * MATCH_FIELDS;
        entries[at] = p;
        entries[at + 1] = entry.entryStart;
        entries[at + 2] = entry.entryEnd;
        entries[at + 3] = 0;
        const stat = listing.stats[i] as SourceStat;
        if (typeof stat === "object" && stat !== null && "type" in stat && sameEntry(accounts, part, entry, stat)) {
          entries[at + 3] = 1;
          same++;
          if (stat.type === "dir") subtrees.push(entry.subtreeIds());
        }
        i++;
      }
    }
  } catch {
    return null;
  }
  return { entries, subtrees, unchanged: same === count && parentCount === count };
}

/** The scanner's current entry is, field for field, the node nodeWithoutIo builds from stat. */
function sameEntry(accounts: AccountBytes, part: Buffer, entry: TreePartScanner, stat: SourceStat): boolean {
  if (entry.type !== stat.type || entry.mode !== stat.mode || entry.uid !== stat.uid || entry.gid !== stat.gid || entry.nlink !== stat.nlink) return false;
  if (entry.sizeBytes !== (stat.type === "file" || stat.type === "symlink" ? stat.sizeBytes : 0)) return false;
  if (entry.hasXattrs || entry.hasUnreadable) return false;
  // The fields only some types have: exactly those of the node nodeWithoutIo builds.
  const isFile = stat.type === "file";
  const isDevice = stat.type === "chardev" || stat.type === "blockdev";
  if (entry.hasChunks !== isFile || entry.sparse !== (isFile && isSparse(stat)) || entry.hasLinkTarget !== (stat.type === "symlink")) return false;
  if ((entry.subtreeCount >= 0 && stat.type !== "dir") || (entry.rdevStart >= 0) !== isDevice) return false;
  if (isDevice && !rangeIsDecimal(part, entry.rdevStart, entry.rdevEnd, stat.rdev)) return false;
  if (!rangeIs(part, entry.userStart, entry.userEnd, accounts.user(stat.uid)) || !rangeIs(part, entry.groupStart, entry.groupEnd, accounts.group(stat.gid))) return false;
  return (
    rangeIsDecimal(part, entry.mtimeStart, entry.mtimeEnd, stat.mtimeNs) &&
    rangeIsDecimal(part, entry.ctimeStart, entry.ctimeEnd, stat.ctimeNs) &&
    rangeIsDecimal(part, entry.inodeStart, entry.inodeEnd, stat.inode) &&
    rangeIsDecimal(part, entry.deviceStart, entry.deviceEnd, stat.device)
  );
}
