/**
 * What a backup keeps from the parent snapshot without reading: the node an entry gets from its
 * lstat, and whether it equals the parent's node field for field (then the parent's encoded tree
 * parts can be reused). Pure, so the main thread and the file workers (which compare a listing with
 * the parent's entries) decide alike.
 */
import type { BlobId } from "../core/ids.ts";
import type { SourceStat } from "../core/ports.ts";
import type { ChunkRef, Node } from "../core/types.ts";

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

/**
 * True when every entry of a listing has the parent's node field for field, directories apart
 * from their subtree (the walk compares that after it has been through them). Then, once every
 * subdirectory comes out with the parent's subtree, the directory's parent tree parts are reused.
 */
export function listingMatchesParent(names: AccountNames, listing: { readonly names: readonly Uint8Array[]; readonly stats: readonly (SourceStat | unknown)[] }, parent: readonly Node[]): boolean {
  if (listing.names.length !== parent.length) return false;
  for (let i = 0; i < parent.length; i++) {
    const before = parent[i]!;
    const stat = listing.stats[i] as SourceStat;
    if (typeof stat !== "object" || stat === null || !("type" in stat)) return false;
    if (Buffer.compare(listing.names[i]!, before.name) !== 0) return false;
    const node = stat.type === "dir" ? nodeFromStat(names, before.name, stat, before.subtree !== undefined ? { subtree: before.subtree } : {}) : nodeWithoutIo(names, before.name, stat, before);
    if (node === null || !sameNode(node, before)) return false;
  }
  return true;
}
