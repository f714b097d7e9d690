/**
 * Trees (FORMAT.md §11): a directory's entries, sorted by name bytes, encoded as msgpack arrays
 * with a fixed field order so equal directories encode to equal bytes (and so dedup to one blob).
 * Large directories are split into parts at content-defined entry boundaries (partBoundary), so an
 * edit in a huge directory rewrites only the part it touches.
 */
import { BLOB_ID_SIZE_BYTES } from "../core/ids.ts";
import type { ChunkRef, Node, NodeType } from "../core/types.ts";
import { assert } from "../util/assert.ts";
import { decodeBounded, MSGPACK_DEPTH_MAX } from "../util/msgpack.ts";

export const TREE_FORMAT_VERSION = 1;
/** A tree part ends after an entry when this many low bits of the name hash are zero (avg 1024). */
const PART_BOUNDARY_BITS = 10;
export const TREE_PART_ENTRIES_MAX = 8192;
/** Longest name any file system suede backs up allows (NAME_MAX is 255 on Linux, 1023 on some). */
const NAME_BYTES_MAX = 4096;

const TYPE_CODES: readonly NodeType[] = ["file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"];

function decodeChunks(bytes: Uint8Array): ChunkRef[] {
  const stride = BLOB_ID_SIZE_BYTES + 4;
  if (bytes.byteLength % stride !== 0) throw new Error("chunk list length");
  const chunks: ChunkRef[] = new Array<ChunkRef>(bytes.byteLength / stride);
  for (let i = 0, at = 0; at < bytes.byteLength; i++, at += stride) {
    // A copy with its own buffer, so a node posted to a worker does not drag the whole part along
    // (Uint8Array.from iterates, slowly; slice on a Buffer would be a view).
    const id = new Uint8Array(BLOB_ID_SIZE_BYTES);
    for (let k = 0; k < BLOB_ID_SIZE_BYTES; k++) id[k] = bytes[at + k]!;
    const size = at + BLOB_ID_SIZE_BYTES;
    chunks[i] = { id, sizeBytes: (bytes[size]! | (bytes[size + 1]! << 8) | (bytes[size + 2]! << 16)) + bytes[size + 3]! * 0x1000000 };
  }
  return chunks;
}

/** Optional fields go into a trailing map keyed by small integers, omitted when absent. */
const OPT = { chunks: 1, sparse: 2, subtree: 3, linkTarget: 4, rdev: 5, xattrs: 6, unreadable: 7 } as const;

/**
 * Writes tree entries as the bytes @msgpack/msgpack's encode() wrote for them (FORMAT.md §11, the
 * format fixed by those bytes): each entry straight into one growing buffer, where encode() built
 * an array, an options object and four decimal strings per entry and walked them generically
 * (issue 5: ~2.7 µs of the main thread's time per file of a first backup, and its garbage).
 * tree-encode.test.ts holds it to encode()'s bytes for every field's edge values.
 */
class EntryWriter {
  private bytes = new Uint8Array(64 * 1024);
  private view = new DataView(this.bytes.buffer);
  private at = 0;

  reset(): void {
    this.at = 0;
  }

  /** A copy of the bytes written since reset(); a buffer grown past 1 MiB (a huge chunk list) is not kept. */
  take(): Uint8Array {
    const bytes = this.bytes.slice(0, this.at);
    if (this.bytes.byteLength > 1024 * 1024) {
      this.bytes = new Uint8Array(64 * 1024);
      this.view = new DataView(this.bytes.buffer);
    }
    return bytes;
  }

  private room(sizeBytes: number): void {
    if (this.at + sizeBytes <= this.bytes.byteLength) return;
    const bigger = new Uint8Array(Math.max(this.at + sizeBytes, this.bytes.byteLength * 2));
    bigger.set(this.bytes.subarray(0, this.at));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  private u8(value: number): void {
    this.bytes[this.at++] = value;
  }

  private u16(value: number): void {
    this.view.setUint16(this.at, value);
    this.at += 2;
  }

  private u32(value: number): void {
    this.view.setUint32(this.at, value);
    this.at += 4;
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.byteLength);
    this.bytes.set(bytes, this.at);
    this.at += bytes.byteLength;
  }

  arrayHeader(size: number): void {
    this.room(5);
    if (size < 16) this.u8(0x90 + size);
    else if (size < 0x10000) (this.u8(0xdc), this.u16(size));
    else (this.u8(0xdd), this.u32(size));
  }

  /** A number as msgpack's encodeNumber writes it (every field here is a non-negative integer). */
  uint(value: number): void {
    this.room(9);
    if (!Number.isSafeInteger(value) || value < 0) {
      this.number(value);
      return;
    }
    if (value < 0x80) this.u8(value);
    else if (value < 0x100) (this.u8(0xcc), this.u8(value));
    else if (value < 0x10000) (this.u8(0xcd), this.u16(value));
    else if (value < 0x100000000) (this.u8(0xce), this.u32(value));
    else (this.u8(0xcf), this.u32(Math.floor(value / 0x100000000)), this.u32(value >>> 0));
  }

  /** The rest of encodeNumber: negative integers and floats (no valid entry has them). */
  private number(value: number): void {
    if (Number.isSafeInteger(value)) {
      if (value >= -0x20) this.u8(0xe0 | (value + 0x20));
      else if (value >= -0x80) (this.u8(0xd0), this.view.setInt8(this.at++, value));
      else if (value >= -0x8000) (this.u8(0xd1), this.view.setInt16(this.at, value), (this.at += 2));
      else if (value >= -0x80000000) (this.u8(0xd2), this.view.setInt32(this.at, value), (this.at += 4));
      else (this.u8(0xd3), this.view.setBigInt64(this.at, BigInt(value)), (this.at += 8));
      return;
    }
    this.u8(0xcb);
    this.view.setFloat64(this.at, value);
    this.at += 8;
  }

  private binHeader(size: number): void {
    this.room(5 + size);
    if (size < 0x100) (this.u8(0xc4), this.u8(size));
    else if (size < 0x10000) (this.u8(0xc5), this.u16(size));
    else (this.u8(0xc6), this.u32(size));
  }

  bin(bytes: Uint8Array): void {
    this.binHeader(bytes.byteLength);
    this.bytes.set(bytes, this.at);
    this.at += bytes.byteLength;
  }

  str(value: string): void {
    let ascii = true;
    for (let i = 0; i < value.length && ascii; i++) ascii = value.charCodeAt(i) < 0x80;
    const utf8 = ascii ? null : Buffer.from(value, "utf8");
    const size = utf8 === null ? value.length : utf8.byteLength;
    this.room(5 + size);
    if (size < 32) this.u8(0xa0 + size);
    else if (size < 0x100) (this.u8(0xd9), this.u8(size));
    else if (size < 0x10000) (this.u8(0xda), this.u16(size));
    else (this.u8(0xdb), this.u32(size));
    if (utf8 !== null) this.bytes.set(utf8, this.at);
    else for (let i = 0; i < size; i++) this.bytes[this.at + i] = value.charCodeAt(i);
    this.at += size;
  }

  /** The options map's key: encode() wrote the object's integer keys as strings ("1" … "7"). */
  private key(option: number): void {
    this.room(2);
    this.u8(0xa1);
    this.u8(0x30 + option);
  }

  /** One entry: a 14-element array whose last element is the map of the options present, by key. */
  entry(node: Node): void {
    this.arrayHeader(14);
    this.bin(node.name);
    this.uint(TYPE_CODES.indexOf(node.type));
    this.uint(node.mode);
    this.uint(node.uid);
    this.uint(node.gid);
    this.str(node.user);
    this.str(node.group);
    this.str(node.mtimeNs.toString());
    this.str(node.ctimeNs.toString());
    this.str(node.inode.toString());
    this.str(node.device.toString());
    this.uint(node.nlink);
    this.uint(node.sizeBytes);
    const options =
      +(node.chunks !== undefined) +
      +(node.sparse === true) +
      +(node.subtree !== undefined) +
      +(node.linkTarget !== undefined) +
      +(node.rdev !== undefined) +
      +(node.xattrs !== undefined) +
      +(node.unreadable !== undefined);
    this.room(1);
    this.u8(0x80 + options);
    if (node.chunks !== undefined) {
      // The chunk list is one bin: per chunk its ID and its size as a little-endian u32.
      this.key(OPT.chunks);
      this.binHeader(node.chunks.length * (BLOB_ID_SIZE_BYTES + 4));
      for (const chunk of node.chunks) {
        assert(chunk.id.byteLength === BLOB_ID_SIZE_BYTES, "chunk ID of the wrong size");
        this.bytes.set(chunk.id, this.at);
        this.view.setUint32(this.at + BLOB_ID_SIZE_BYTES, chunk.sizeBytes, true);
        this.at += BLOB_ID_SIZE_BYTES + 4;
      }
    }
    if (node.sparse === true) (this.key(OPT.sparse), this.room(1), this.u8(0xc3));
    if (node.subtree !== undefined) {
      this.key(OPT.subtree);
      this.arrayHeader(node.subtree.length);
      for (const id of node.subtree) this.bin(id);
    }
    if (node.linkTarget !== undefined) (this.key(OPT.linkTarget), this.bin(node.linkTarget));
    if (node.rdev !== undefined) (this.key(OPT.rdev), this.str(node.rdev.toString()));
    if (node.xattrs !== undefined) {
      this.key(OPT.xattrs);
      this.arrayHeader(node.xattrs.length);
      for (const [name, value] of node.xattrs) (this.arrayHeader(2), this.bin(name), this.bin(value));
    }
    if (node.unreadable !== undefined) (this.key(OPT.unreadable), this.str(node.unreadable));
  }
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
  return encodeTreePartFrom(nodes);
}

/** An entry kept as the parent snapshot encoded it: its msgpack bytes, copied as they are. */
export interface EncodedEntry {
  readonly name: Uint8Array;
  /** One entry's msgpack value (a 14-element array), as encodeTreePart writes it. */
  readonly encoded: Uint8Array;
}

export function isEncodedEntry(entry: Node | EncodedEntry): entry is EncodedEntry {
  return "encoded" in entry;
}

/** Reused from part to part: a part's bytes are copied out of it. */
const partWriter = new EntryWriter();

/**
 * The bytes of a tree part, with the encoded entries copied instead of re-encoded: msgpack writes
 * an array as its header and then each element on its own, so a part is its header followed by
 * its entries' encodings (a re-run re-encodes only what changed).
 */
export function encodeTreePartFrom(entries: readonly (Node | EncodedEntry)[]): Uint8Array {
  const count = entries.length;
  if (count >= 0x10000) throw new Error(`tree part has ${count} entries`); // isPartBoundary caps parts at TREE_PART_ENTRIES_MAX
  const writer = partWriter;
  writer.reset();
  writer.arrayHeader(2);
  writer.uint(TREE_FORMAT_VERSION);
  writer.arrayHeader(count);
  for (const entry of entries) {
    if (isEncodedEntry(entry)) writer.raw(entry.encoded);
    else writer.entry(entry);
  }
  return writer.take();
}

/** One entry's bytes (an EncodedEntry's encoded) back as a Node; throws Error with a reason. */
export function decodeTreeEntry(bytes: Uint8Array): Node {
  const node = decodeNode(decodeBounded(bytes));
  const problem = nameProblem(node.name);
  if (problem !== null) throw new Error(`tree entry name ${problem}`);
  return node;
}

/** Decodes a tree part; throws Error with a reason (callers wrap it as VaultCorruptError). */
export function decodeTreePart(bytes: Uint8Array): Node[] {
  const nodes = scanTreePart(bytes) ?? decodeTreePartValue(bytes);
  for (let i = 0; i < nodes.length; i++) {
    const name = nodes[i]!.name;
    const problem = nameProblem(name);
    if (problem !== null) throw new Error(`tree entry name ${problem}`);
    // Strictly increasing: a repeated name would let one entry shadow another on restore.
    if (i > 0 && compareNames(nodes[i - 1]!.name, name) >= 0) throw new Error("tree entries repeated or out of name order");
  }
  return nodes;
}

/** The general decoder: any msgpack value, checked field by field (decodeNode). */
function decodeTreePartValue(bytes: Uint8Array): Node[] {
  const value = decodeBounded(bytes);
  if (!Array.isArray(value) || value.length !== 2 || value[0] !== TREE_FORMAT_VERSION || !Array.isArray(value[1])) {
    throw new Error("tree part shape");
  }
  if (value[1].length > TREE_PART_ENTRIES_MAX) throw new Error(`tree part has ${value[1].length} entries`);
  return (value[1] as unknown[]).map(decodeNode);
}

/**
 * A part's Nodes read straight from its bytes with TreePartScanner, or null when the part holds
 * anything else than the plain shape encodeTreePart writes with ASCII owner names and no xattrs or
 * unreadable notes: the general decoder then reads it, and says what is wrong if anything is. For
 * every part it reads, the Nodes equal the general decoder's (tree-codec.test.ts); it skips the
 * intermediate msgpack value, its depth walk and the field checks' strings, which were most of
 * restore's tree decoding on the main thread (issue 5).
 */
function scanTreePart(bytes: Uint8Array): Node[] | null {
  let scanner: TreePartScanner;
  try {
    scanner = new TreePartScanner(bytes);
  } catch {
    return null;
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nodes: Node[] = [];
  // Owner names repeat from entry to entry: the previous entry's string is reused when the bytes match.
  const user = new TextRange(text);
  const group = new TextRange(text);
  try {
    while (scanner.next()) {
      if (scanner.hasXattrs || scanner.hasUnreadable) return null;
      const userName = user.read(scanner.userStart, scanner.userEnd);
      const groupName = group.read(scanner.groupStart, scanner.groupEnd);
      const mtimeNs = decimal(text, scanner.mtimeStart, scanner.mtimeEnd);
      const ctimeNs = decimal(text, scanner.ctimeStart, scanner.ctimeEnd);
      const inode = decimal(text, scanner.inodeStart, scanner.inodeEnd);
      const device = decimal(text, scanner.deviceStart, scanner.deviceEnd);
      if (userName === null || groupName === null || mtimeNs === null || ctimeNs === null || inode === null || device === null) return null;
      // Same fields in the same order as decodeNode, so both make Nodes of one shape.
      const node: { -readonly [K in keyof Node]: Node[K] } = {
        name: bytes.subarray(scanner.nameStart, scanner.nameEnd),
        type: scanner.type,
        mode: scanner.mode,
        uid: scanner.uid,
        gid: scanner.gid,
        user: userName,
        group: groupName,
        mtimeNs,
        ctimeNs,
        inode,
        device,
        nlink: scanner.nlink,
        sizeBytes: scanner.sizeBytes,
      };
      if (scanner.hasChunks) node.chunks = decodeChunks(bytes.subarray(scanner.chunksStart, scanner.chunksEnd));
      if (scanner.sparse) node.sparse = true;
      if (scanner.subtreeCount >= 0) node.subtree = scanner.subtreeIds();
      if (scanner.hasLinkTarget) node.linkTarget = bytes.subarray(scanner.linkTargetStart, scanner.linkTargetEnd);
      if (scanner.rdevStart >= 0) {
        const rdev = decimal(text, scanner.rdevStart, scanner.rdevEnd);
        if (rdev === null) return null;
        node.rdev = rdev;
      }
      nodes.push(node);
    }
  } catch {
    return null;
  }
  return nodes;
}

/** An ASCII string field read from a part, the last one kept for reuse; null when not ASCII. */
class TextRange {
  private last = "";
  private lastStart = 0;
  private lastEnd = 0;

  constructor(private readonly text: Buffer) {}

  read(start: number, end: number): string | null {
    const text = this.text;
    const length = end - start;
    if (length === this.lastEnd - this.lastStart && text.compare(text, this.lastStart, this.lastEnd, start, end) === 0) return this.last;
    for (let i = start; i < end; i++) if (text[i]! >= 0x80) return null;
    this.last = text.toString("latin1", start, end);
    this.lastStart = start;
    this.lastEnd = end;
    return this.last;
  }
}

/** Digits that fit a double exactly are summed as a number; longer ones go through a string. */
const SAFE_DIGITS_MAX = 15;

/** A decimal integer field as bigintField accepts it (-?[0-9]{1,24}), or null for anything else. */
function decimal(text: Buffer, start: number, end: number): bigint | null {
  const negative = start < end && text[start] === 0x2d;
  const first = negative ? start + 1 : start;
  const digits = end - first;
  if (digits < 1 || digits > 24) return null;
  let value = 0;
  for (let i = first; i < end; i++) {
    const digit = text[i]! - 0x30;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  if (digits <= SAFE_DIGITS_MAX) return BigInt(negative ? -value : value);
  return BigInt(text.toString("latin1", start, end));
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

/**
 * A tree part read entry by entry without building Nodes: fields stay byte ranges of the part
 * (name, user, group, the decimal integers) or plain numbers, in this one reused object. Backup's
 * unchanged check compares a directory listing with the parent snapshot this way, since decoding
 * (a Node, a chunk list and a name copy per entry) cost the file workers most of a no-change re-run
 * in garbage collection. It accepts only the shape encodeTreePart writes and throws on anything
 * else (the caller then falls back to decodeTreePart, which says what is wrong).
 */
export class TreePartScanner {
  /** How many entries are left to read. */
  remaining: number;
  private at: number;
  /** The current entry's bytes are [entryStart, entryEnd) of the part. */
  entryStart = 0;
  entryEnd = 0;
  nameStart = 0;
  nameEnd = 0;
  type: NodeType = "file";
  mode = 0;
  uid = 0;
  gid = 0;
  userStart = 0;
  userEnd = 0;
  groupStart = 0;
  groupEnd = 0;
  mtimeStart = 0;
  mtimeEnd = 0;
  ctimeStart = 0;
  ctimeEnd = 0;
  inodeStart = 0;
  inodeEnd = 0;
  deviceStart = 0;
  deviceEnd = 0;
  nlink = 0;
  sizeBytes = 0;
  hasChunks = false;
  /** The chunk list's bytes (when hasChunks). */
  chunksStart = 0;
  chunksEnd = 0;
  sparse = false;
  /** Offset of the first subtree ID and how many (-1: no subtree field); IDs are SUBTREE_ID_STRIDE apart. */
  subtreeStart = 0;
  subtreeCount = -1;
  hasLinkTarget = false;
  /** The link target's bytes (when hasLinkTarget). */
  linkTargetStart = 0;
  linkTargetEnd = 0;
  /** The rdev decimal range; rdevStart -1 when absent. */
  rdevStart = -1;
  rdevEnd = -1;
  hasXattrs = false;
  hasUnreadable = false;

  constructor(readonly bytes: Uint8Array) {
    this.at = 0;
    if (this.byte() !== 0x92 || this.byte() !== TREE_FORMAT_VERSION) throw new Error("tree part shape");
    this.remaining = this.arrayHeader();
    if (this.remaining > TREE_PART_ENTRIES_MAX) throw new Error(`tree part has ${this.remaining} entries`);
    if (this.remaining === 0) this.end();
  }

  /** Reads the next entry into this object's fields; false when there is none left. */
  next(): boolean {
    if (this.remaining === 0) return false;
    this.entryStart = this.at;
    if (this.byte() !== 0x9e) throw new Error("entry shape"); // fixarray of 14
    this.nameEnd = this.bin();
    this.nameStart = this.nameEnd - this.length;
    const type = TYPE_CODES[this.uint()];
    if (type === undefined) throw new Error("entry type");
    this.type = type;
    this.mode = this.uint();
    this.uid = this.uint();
    this.gid = this.uint();
    this.userEnd = this.str();
    this.userStart = this.userEnd - this.length;
    this.groupEnd = this.str();
    this.groupStart = this.groupEnd - this.length;
    this.mtimeEnd = this.str();
    this.mtimeStart = this.mtimeEnd - this.length;
    this.ctimeEnd = this.str();
    this.ctimeStart = this.ctimeEnd - this.length;
    this.inodeEnd = this.str();
    this.inodeStart = this.inodeEnd - this.length;
    this.deviceEnd = this.str();
    this.deviceStart = this.deviceEnd - this.length;
    this.nlink = this.uint();
    this.sizeBytes = this.uint();
    this.options();
    this.entryEnd = this.at;
    if (--this.remaining === 0) this.end();
    return true;
  }

  /** The subtree IDs of the current entry, as views into the part ([] when it has none). */
  subtreeIds(): Uint8Array[] {
    const ids: Uint8Array[] = [];
    for (let i = 0; i < this.subtreeCount; i++) {
      const start = this.subtreeStart + i * SUBTREE_ID_STRIDE;
      ids.push(this.bytes.subarray(start, start + BLOB_ID_SIZE_BYTES));
    }
    return ids;
  }

  /** The optional-fields map: keys "1".."7" as encodeNode writes them, each at most once. */
  private options(): void {
    this.hasChunks = false;
    this.sparse = false;
    this.subtreeCount = -1;
    this.hasLinkTarget = false;
    this.rdevStart = -1;
    this.rdevEnd = -1;
    this.hasXattrs = false;
    this.hasUnreadable = false;
    const count = this.mapHeader();
    let seen = 0;
    for (let i = 0; i < count; i++) {
      if (this.byte() !== 0xa1) throw new Error("entry option key");
      const key = this.byte() - 0x30;
      if (key < OPT.chunks || key > OPT.unreadable || (seen & (1 << key)) !== 0) throw new Error("entry option key");
      seen |= 1 << key;
      switch (key) {
        case OPT.chunks:
          this.chunksEnd = this.bin();
          this.chunksStart = this.chunksEnd - this.length;
          if (this.length % (BLOB_ID_SIZE_BYTES + 4) !== 0) throw new Error("chunk list length");
          this.hasChunks = true;
          break;
        case OPT.sparse:
          if (this.byte() !== 0xc3) throw new Error("sparse"); // only true is ever written
          this.sparse = true;
          break;
        case OPT.subtree: {
          this.subtreeCount = this.arrayHeader();
          this.subtreeStart = this.at + 2;
          for (let j = 0; j < this.subtreeCount; j++) {
            if (this.byte() !== 0xc4 || this.byte() !== BLOB_ID_SIZE_BYTES) throw new Error("subtree id");
            this.skip(BLOB_ID_SIZE_BYTES);
          }
          break;
        }
        case OPT.linkTarget:
          this.linkTargetEnd = this.bin();
          this.linkTargetStart = this.linkTargetEnd - this.length;
          this.hasLinkTarget = true;
          break;
        case OPT.rdev:
          this.rdevEnd = this.str();
          this.rdevStart = this.rdevEnd - this.length;
          break;
        default:
          // xattrs and unreadable: the caller only needs to know they are there (never unchanged).
          this.hasXattrs ||= key === OPT.xattrs;
          this.hasUnreadable ||= key === OPT.unreadable;
          this.skipValue(0);
      }
    }
  }

  /** Length of the last bin or str read. */
  private length = 0;

  private end(): void {
    if (this.at !== this.bytes.byteLength) throw new Error("bytes after the tree part");
  }

  private byte(): number {
    if (this.at >= this.bytes.byteLength) throw new Error("tree part truncated");
    return this.bytes[this.at++]!;
  }

  private skip(count: number): void {
    if (this.bytes.byteLength - this.at < count) throw new Error("tree part truncated");
    this.at += count;
  }

  private be(size: 1 | 2 | 4): number {
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + this.byte();
    return value;
  }

  /** A non-negative safe integer, as numberField accepts it. */
  private uint(): number {
    const tag = this.byte();
    if (tag <= 0x7f) return tag;
    if (tag === 0xcc) return this.be(1);
    if (tag === 0xcd) return this.be(2);
    if (tag === 0xce) return this.be(4);
    if (tag === 0xcf) {
      const value = this.be(4) * 2 ** 32 + this.be(4);
      if (!Number.isSafeInteger(value)) throw new Error("bad number field");
      return value;
    }
    throw new Error("bad number field");
  }

  /** Skips a bin; returns the offset after it and sets length. */
  private bin(): number {
    const tag = this.byte();
    const size = tag === 0xc4 ? 1 : tag === 0xc5 ? 2 : tag === 0xc6 ? 4 : 0;
    if (size === 0) throw new Error("bad bytes field");
    this.length = this.be(size);
    this.skip(this.length);
    return this.at;
  }

  /** Skips a str; returns the offset after it and sets length. */
  private str(): number {
    const tag = this.byte();
    if (tag >= 0xa0 && tag <= 0xbf) this.length = tag - 0xa0;
    else if (tag === 0xd9) this.length = this.be(1);
    else if (tag === 0xda) this.length = this.be(2);
    else if (tag === 0xdb) this.length = this.be(4);
    else throw new Error("bad string field");
    this.skip(this.length);
    return this.at;
  }

  private arrayHeader(): number {
    const tag = this.byte();
    if (tag >= 0x90 && tag <= 0x9f) return tag - 0x90;
    if (tag === 0xdc) return this.be(2);
    if (tag === 0xdd) return this.be(4);
    throw new Error("expected an array");
  }

  private mapHeader(): number {
    const tag = this.byte();
    if (tag >= 0x80 && tag <= 0x8f) return tag - 0x80;
    if (tag === 0xde) return this.be(2);
    if (tag === 0xdf) return this.be(4);
    throw new Error("entry options");
  }

  /** Skips any value of the types a tree part may hold (nesting bounded as decodeBounded bounds it). */
  private skipValue(depth: number): void {
    if (depth >= MSGPACK_DEPTH_MAX) throw new Error("nested too deep");
    const tag = this.bytes[this.at];
    if (tag === undefined) throw new Error("tree part truncated");
    if ((tag >= 0x90 && tag <= 0x9f) || tag === 0xdc || tag === 0xdd) {
      for (let n = this.arrayHeader(); n > 0; n--) this.skipValue(depth + 1);
    } else if ((tag >= 0x80 && tag <= 0x8f) || tag === 0xde || tag === 0xdf) {
      for (let n = this.mapHeader() * 2; n > 0; n--) this.skipValue(depth + 1);
    } else if (tag === 0xc4 || tag === 0xc5 || tag === 0xc6) {
      this.bin();
    } else if ((tag >= 0xa0 && tag <= 0xbf) || tag === 0xd9 || tag === 0xda || tag === 0xdb) {
      this.str();
    } else if (tag <= 0x7f || tag === 0xc0 || tag === 0xc2 || tag === 0xc3) {
      this.at++;
    } else {
      this.uint();
    }
  }
}

/** Bytes from one subtree ID to the next in an encoded part: a bin8 header (2) and the ID. */
const SUBTREE_ID_STRIDE = 2 + BLOB_ID_SIZE_BYTES;
