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
  return end - start === bytes.byteLength && part.compare(bytes, 0, bytes.byteLength, start, end) === 0;
}

/** The range [start, end) of part holds the decimal digits of value (as encodeTreePart writes it). */
function rangeIsDecimal(part: Buffer, start: number, end: number, value: bigint): boolean {
  const digits = value.toString();
  if (end - start !== digits.length) return false;
  for (let i = 0; i < digits.length; i++) if (part[start + i] !== digits.charCodeAt(i)) return false;
  return true;
}

/**
 * When every entry of a listing has the parent's node field for field (the node nodeWithoutIo
 * would build is sameNode to the parent's; directories apart from their subtree, which the walk
 * compares after it has been through them): the parent's subtree IDs of the listing's
 * directories, in order. Otherwise null; null too when a parent part does not scan (the walk then
 * decodes it and reports what is wrong). Reads the encoded parts in place (TreePartScanner):
 * decoding them into Nodes cost the file workers most of a no-change re-run.
 */
export function unchangedSubtrees(accounts: AccountBytes, listing: { readonly names: readonly Uint8Array[]; readonly stats: readonly (SourceStat | unknown)[] }, parts: readonly Uint8Array[]): Uint8Array[][] | null {
  const subtrees: Uint8Array[][] = [];
  let i = 0;
  try {
    for (const bytes of parts) {
      const part = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const entry = new TreePartScanner(bytes);
      while (entry.next()) {
        if (i >= listing.names.length) return null;
        const stat = listing.stats[i] as SourceStat;
        if (typeof stat !== "object" || stat === null || !("type" in stat)) return null;
        if (!rangeIs(part, entry.nameStart, entry.nameEnd, listing.names[i]!)) return null;
        if (entry.type !== stat.type || entry.mode !== stat.mode || entry.uid !== stat.uid || entry.gid !== stat.gid || entry.nlink !== stat.nlink) return null;
        if (entry.sizeBytes !== (stat.type === "file" || stat.type === "symlink" ? stat.sizeBytes : 0)) return null;
        if (entry.hasXattrs || entry.hasUnreadable) return null;
        // The fields only some types have: exactly those of the node nodeWithoutIo builds.
        const isFile = stat.type === "file";
        const isDevice = stat.type === "chardev" || stat.type === "blockdev";
        if (entry.hasChunks !== isFile || entry.sparse !== (isFile && isSparse(stat)) || entry.hasLinkTarget !== (stat.type === "symlink")) return null;
        if ((entry.subtreeCount >= 0 && stat.type !== "dir") || (entry.rdevStart >= 0) !== isDevice) return null;
        if (isDevice && !rangeIsDecimal(part, entry.rdevStart, entry.rdevEnd, stat.rdev)) return null;
        if (!rangeIs(part, entry.userStart, entry.userEnd, accounts.user(stat.uid)) || !rangeIs(part, entry.groupStart, entry.groupEnd, accounts.group(stat.gid))) return null;
        if (
          !rangeIsDecimal(part, entry.mtimeStart, entry.mtimeEnd, stat.mtimeNs) ||
          !rangeIsDecimal(part, entry.ctimeStart, entry.ctimeEnd, stat.ctimeNs) ||
          !rangeIsDecimal(part, entry.inodeStart, entry.inodeEnd, stat.inode) ||
          !rangeIsDecimal(part, entry.deviceStart, entry.deviceEnd, stat.device)
        ) {
          return null;
        }
        if (stat.type === "dir") subtrees.push(entry.subtreeIds());
        i++;
      }
    }
  } catch {
    return null;
  }
  return i === listing.names.length ? subtrees : null;
}
