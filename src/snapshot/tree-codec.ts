/**
 * Trees (FORMAT.md §11): a directory's entries, sorted by name bytes, encoded as msgpack arrays
 * with a fixed field order so equal directories encode to equal bytes (and so dedup to one blob).
 * Large directories are split into parts at content-defined entry boundaries (partBoundary), so an
 * edit in a huge directory rewrites only the part it touches.
 */
import { encode } from "@msgpack/msgpack";
import { BLOB_ID_SIZE_BYTES } from "../core/ids.ts";
import type { ChunkRef, Node, NodeType } from "../core/types.ts";
import { ByteReader, ByteWriter } from "../util/bytes.ts";
import { decodeBounded } from "../util/msgpack.ts";

export const TREE_FORMAT_VERSION = 1;
/** A tree part ends after an entry when this many low bits of the name hash are zero (avg 1024). */
const PART_BOUNDARY_BITS = 10;
export const TREE_PART_ENTRIES_MAX = 8192;
/** Longest name any file system suede backs up allows (NAME_MAX is 255 on Linux, 1023 on some). */
const NAME_BYTES_MAX = 4096;

const TYPE_CODES: readonly NodeType[] = ["file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"];

function encodeChunks(chunks: readonly ChunkRef[]): Uint8Array {
  const writer = new ByteWriter(chunks.length * (BLOB_ID_SIZE_BYTES + 4));
  for (const chunk of chunks) writer.raw(chunk.id).u32(chunk.sizeBytes);
  return writer.finish(true);
}

function decodeChunks(bytes: Uint8Array): ChunkRef[] {
  if (bytes.byteLength % (BLOB_ID_SIZE_BYTES + 4) !== 0) throw new Error("chunk list length");
  const reader = new ByteReader(bytes);
  const chunks: ChunkRef[] = [];
  while (reader.remaining > 0) {
    const id = Uint8Array.from(reader.bytesView(BLOB_ID_SIZE_BYTES));
    chunks.push({ id, sizeBytes: reader.u32() });
  }
  return chunks;
}

/** Optional fields go into a trailing map keyed by small integers, omitted when absent. */
const OPT = { chunks: 1, sparse: 2, subtree: 3, linkTarget: 4, rdev: 5, xattrs: 6, unreadable: 7 } as const;

function encodeNode(node: Node): unknown[] {
  const optional: Record<number, unknown> = {};
  if (node.chunks !== undefined) optional[OPT.chunks] = encodeChunks(node.chunks);
  if (node.sparse === true) optional[OPT.sparse] = true;
  if (node.subtree !== undefined) optional[OPT.subtree] = node.subtree.map((id) => id);
  if (node.linkTarget !== undefined) optional[OPT.linkTarget] = node.linkTarget;
  if (node.rdev !== undefined) optional[OPT.rdev] = node.rdev.toString();
  if (node.xattrs !== undefined) optional[OPT.xattrs] = node.xattrs.map(([k, v]) => [k, v]);
  if (node.unreadable !== undefined) optional[OPT.unreadable] = node.unreadable;
  return [
    node.name,
    TYPE_CODES.indexOf(node.type),
    node.mode,
    node.uid,
    node.gid,
    node.user,
    node.group,
    node.mtimeNs.toString(),
    node.ctimeNs.toString(),
    node.inode.toString(),
    node.device.toString(),
    node.nlink,
    node.sizeBytes,
    optional,
  ];
}

function bigintField(value: unknown): bigint {
  if (typeof value !== "string" || !/^-?\d{1,24}$/.test(value)) throw new Error("bad integer field");
  return BigInt(value);
}

function numberField(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new Error("bad number field");
  return value;
}

function stringField(value: unknown): string {
  if (typeof value !== "string") throw new Error("bad string field");
  return value;
}

function bytesField(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Error("bad bytes field");
  return value;
}

function decodeNode(value: unknown): Node {
  if (!Array.isArray(value) || value.length !== 14) throw new Error("entry shape");
  const type = TYPE_CODES[numberField(value[1])];
  if (type === undefined) throw new Error("entry type");
  const optional = value[13];
  if (typeof optional !== "object" || optional === null || Array.isArray(optional)) throw new Error("entry options");
  const opt = optional as Record<number, unknown>;
  const node: {
    -readonly [K in keyof Node]: Node[K];
  } = {
    name: bytesField(value[0]),
    type,
    mode: numberField(value[2]),
    uid: numberField(value[3]),
    gid: numberField(value[4]),
    user: stringField(value[5]),
    group: stringField(value[6]),
    mtimeNs: bigintField(value[7]),
    ctimeNs: bigintField(value[8]),
    inode: bigintField(value[9]),
    device: bigintField(value[10]),
    nlink: numberField(value[11]),
    sizeBytes: numberField(value[12]),
  };
  const chunks = opt[OPT.chunks];
  if (chunks !== undefined) node.chunks = decodeChunks(bytesField(chunks));
  if (opt[OPT.sparse] === true) node.sparse = true;
  const subtree = opt[OPT.subtree];
  if (subtree !== undefined) {
    if (!Array.isArray(subtree)) throw new Error("subtree");
    node.subtree = subtree.map((id) => {
      const bytes = bytesField(id);
      if (bytes.byteLength !== BLOB_ID_SIZE_BYTES) throw new Error("subtree id");
      return bytes;
    });
  }
  const linkTarget = opt[OPT.linkTarget];
  if (linkTarget !== undefined) node.linkTarget = bytesField(linkTarget);
  const rdev = opt[OPT.rdev];
  if (rdev !== undefined) node.rdev = bigintField(rdev);
  const xattrs = opt[OPT.xattrs];
  if (xattrs !== undefined) {
    if (!Array.isArray(xattrs)) throw new Error("xattrs");
    node.xattrs = xattrs.map((pair: unknown) => {
      if (!Array.isArray(pair)) throw new Error("xattr");
      return [bytesField(pair[0]), bytesField(pair[1])] as const;
    });
  }
  const unreadable = opt[OPT.unreadable];
  if (unreadable !== undefined) node.unreadable = stringField(unreadable);
  return node;
}

export function encodeTreePart(nodes: readonly Node[]): Uint8Array {
  return encode([TREE_FORMAT_VERSION, nodes.map(encodeNode)]);
}

/** Decodes a tree part; throws Error with a reason (callers wrap it as VaultCorruptError). */
export function decodeTreePart(bytes: Uint8Array): Node[] {
  const value = decodeBounded(bytes);
  if (!Array.isArray(value) || value.length !== 2 || value[0] !== TREE_FORMAT_VERSION || !Array.isArray(value[1])) {
    throw new Error("tree part shape");
  }
  if (value[1].length > TREE_PART_ENTRIES_MAX) throw new Error(`tree part has ${value[1].length} entries`);
  const nodes = (value[1] as unknown[]).map(decodeNode);
  for (let i = 0; i < nodes.length; i++) {
    const name = nodes[i]!.name;
    const problem = nameProblem(name);
    if (problem !== null) throw new Error(`tree entry name ${problem}`);
    // Strictly increasing: a repeated name would let one entry shadow another on restore.
    if (i > 0 && compareNames(nodes[i - 1]!.name, name) >= 0) throw new Error("tree entries repeated or out of name order");
  }
  return nodes;
}

/** Why a name cannot be one path component (it could climb out of, or alias inside, a target). */
export function nameProblem(name: Uint8Array): string | null {
  if (name.byteLength === 0) return "is empty";
  if (name.byteLength > NAME_BYTES_MAX) return `is longer than ${NAME_BYTES_MAX} bytes`;
  // A plain loop: Uint8Array.prototype.includes is several times slower, and this runs per entry read.
  for (let i = 0; i < name.byteLength; i++) {
    if (name[i] === 0x2f) return "contains '/'";
    if (name[i] === 0) return "contains NUL";
  }
  if (name[0] === 0x2e && (name.byteLength === 1 || (name.byteLength === 2 && name[1] === 0x2e))) return "is '.' or '..'";
  return null;
}

/** Byte-wise name order (what `ls` under LC_ALL=C shows, and stable for non-UTF-8 names). */
export function compareNames(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** True when a tree part should end after this entry (content-defined, so parts dedup). */
export function isPartBoundary(name: Uint8Array, entriesInPart: number): boolean {
  if (entriesInPart >= TREE_PART_ENTRIES_MAX) return true;
  let h = 0x811c9dc5;
  for (let i = 0; i < name.byteLength; i++) h = Math.imul(h ^ name[i]!, 0x01000193);
  return (h >>> 0) % (1 << PART_BOUNDARY_BITS) === 0;
}
