/**
 * The in-memory blob index: blob ID → where its record is. Entries live in fixed-size pages of flat
 * typed arrays (49 bytes per entry, no object per blob, no growth by copying) plus an open-addressing
 * table of 4-byte slots kept at most 70% full: about 58 bytes per blob at a million blobs
 * (bench/index-memory.ts). The table hashes the first four bytes of the ID, a keyed hash and
 * therefore uniform.
 */
import { assert } from "../util/assert.ts";
import { ByteReader, ByteWriter, ShortReadError } from "../util/bytes.ts";
import { INDEX_ENTRY_SIZE_BYTES, LOG_START_OFFSET, RECORD_BODY_SIZE_MAX_BYTES, RECORD_OVERHEAD_BYTES, RecordKind, type RecordKindCode } from "./format.ts";

export interface BlobLocation {
  readonly offset: number;
  readonly recordLength: number;
  readonly rawLength: number;
  readonly kind: RecordKindCode;
}

export interface BlobEntry extends BlobLocation {
  readonly id: Uint8Array;
}

const ID_BYTES = 32;
/** Entries per page: 16 Ki entries, about 800 KiB, so the unused tail of the last page stays small. */
const PAGE_SHIFT = 14;
const PAGE_ENTRIES = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_ENTRIES - 1;
const SLOTS_MIN = 2048;
/** Slot table fill limit: linear probing stays short below it, and slots cost 5.7–11.4 bytes per blob. */
const SLOT_LOAD_MAX = 0.7;

interface Page {
  readonly ids: Uint8Array;
  readonly offsets: Float64Array;
  readonly recordLengths: Uint32Array;
  readonly rawLengths: Uint32Array;
  readonly kinds: Uint8Array;
}

function newPage(): Page {
  return {
    ids: new Uint8Array(PAGE_ENTRIES * ID_BYTES),
    offsets: new Float64Array(PAGE_ENTRIES),
    recordLengths: new Uint32Array(PAGE_ENTRIES),
    rawLengths: new Uint32Array(PAGE_ENTRIES),
    kinds: new Uint8Array(PAGE_ENTRIES),
  };
}

const PAGE_BYTES = PAGE_ENTRIES * (ID_BYTES + 8 + 4 + 4 + 1);

export class BlobIndex {
  private readonly pages: Page[] = [];
  /** Entry number + 1 per slot; 0 is empty. */
  private slots: Int32Array;
  private slotMask: number;
  private used = 0;

  constructor(capacityHint = 0) {
    let slotCount = SLOTS_MIN;
    while (capacityHint > slotCount * SLOT_LOAD_MAX) slotCount *= 2;
    this.slots = new Int32Array(slotCount);
    this.slotMask = slotCount - 1;
  }

  get size(): number {
    return this.used;
  }

  /** Bytes held by the pages and the slot table (reported by `info`, checked in tests and bench). */
  get memoryBytes(): number {
    return this.pages.length * PAGE_BYTES + this.slots.byteLength;
  }

  // ---- per-entry accessors (entry numbers are stable until the index is replaced) ----

  offsetOf(entry: number): number {
    return this.pages[entry >>> PAGE_SHIFT]!.offsets[entry & PAGE_MASK]!;
  }

  recordLengthOf(entry: number): number {
    return this.pages[entry >>> PAGE_SHIFT]!.recordLengths[entry & PAGE_MASK]!;
  }

  rawLengthOf(entry: number): number {
    return this.pages[entry >>> PAGE_SHIFT]!.rawLengths[entry & PAGE_MASK]!;
  }

  kindOf(entry: number): RecordKindCode {
    return this.pages[entry >>> PAGE_SHIFT]!.kinds[entry & PAGE_MASK]! as RecordKindCode;
  }

  /** A view of the entry's ID inside the index (copy it to keep it past a replacement). */
  idOf(entry: number): Uint8Array {
    const at = (entry & PAGE_MASK) * ID_BYTES;
    return this.pages[entry >>> PAGE_SHIFT]!.ids.subarray(at, at + ID_BYTES);
  }

  /** Moves an entry's record (compaction). */
  setOffset(entry: number, offset: number): void {
    assert(entry >= 0 && entry < this.used, "index entry number out of range");
    this.pages[entry >>> PAGE_SHIFT]!.offsets[entry & PAGE_MASK] = offset;
  }

  private hashSlot(source: Uint8Array, at: number): number {
    return ((source[at]! | (source[at + 1]! << 8) | (source[at + 2]! << 16) | (source[at + 3]! << 24)) >>> 0) & this.slotMask;
  }

  /** Whether entry holds the id stored at source[at .. at + 32). */
  private sameId(entry: number, source: Uint8Array, at: number): boolean {
    const ids = this.pages[entry >>> PAGE_SHIFT]!.ids;
    const base = (entry & PAGE_MASK) * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) if (ids[base + i] !== source[at + i]) return false;
    return true;
  }

  private findEntry(id: Uint8Array): number {
    assert(id.byteLength === ID_BYTES, "blob id must be 32 bytes");
    return this.findAt(id, 0);
  }

  private findAt(source: Uint8Array, at: number): number {
    let slot = this.hashSlot(source, at);
    for (;;) {
      const stored = this.slots[slot]!;
      if (stored === 0) return -1;
      if (this.sameId(stored - 1, source, at)) return stored - 1;
      slot = (slot + 1) & this.slotMask;
    }
  }

  /** A new entry for the id at source[at .. at + 32) (not present yet); its location is set by the caller. */
  private appendAt(source: Uint8Array, at: number): number {
    if (this.used + 1 > this.slots.length * SLOT_LOAD_MAX) this.rehash(this.slots.length * 2);
    const entry = this.used++;
    if (entry >>> PAGE_SHIFT === this.pages.length) this.pages.push(newPage());
    // A byte loop, not ids.set(source.subarray(…)): a subarray of a Buffer costs an object per entry.
    const ids = this.pages[entry >>> PAGE_SHIFT]!.ids;
    const base = (entry & PAGE_MASK) * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) ids[base + i] = source[at + i]!;
    this.insertSlot(entry);
    return entry;
  }

  private insertSlot(entry: number): void {
    const page = this.pages[entry >>> PAGE_SHIFT]!;
    let slot = this.hashSlot(page.ids, (entry & PAGE_MASK) * ID_BYTES);
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
    this.slots[slot] = entry + 1;
  }

  private rehash(slotCount: number): void {
    this.slots = new Int32Array(slotCount);
    this.slotMask = slotCount - 1;
    for (let entry = 0; entry < this.used; entry++) this.insertSlot(entry);
  }

  private store(entry: number, offset: number, recordLength: number, rawLength: number, kind: number): void {
    const page = this.pages[entry >>> PAGE_SHIFT]!;
    const i = entry & PAGE_MASK;
    page.offsets[i] = offset;
    page.recordLengths[i] = recordLength;
    page.rawLengths[i] = rawLength;
    page.kinds[i] = kind;
  }

  /**
   * Adds the entries of an index record body (FORMAT.md §7) straight into the pages: no object per
   * entry, so opening a vault with millions of blobs costs little more than the copy. Returns a
   * problem string (and adds nothing) when the body is malformed or an entry does not name a whole
   * record inside the committed log (logEndBytes): reading it could then allocate at will. With
   * onlyKind, every entry is validated but only those of that kind are added (a listing needs only
   * the snapshots).
   */
  addIndexRecord(body: Uint8Array, logEndBytes: number, onlyKind?: RecordKindCode): string | null {
    // Validate first so a damaged record leaves the index untouched.
    const problem = indexRecordProblem(body, logEndBytes);
    if (problem !== null) return problem;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let at = 0; at < body.byteLength; at += INDEX_ENTRY_SIZE_BYTES) {
      if (onlyKind !== undefined && body[at + ID_BYTES + 16] !== onlyKind) continue;
      let entry = this.findAt(body, at);
      if (entry < 0) entry = this.appendAt(body, at);
      this.store(
        entry,
        view.getUint32(at + ID_BYTES, true) + view.getUint32(at + ID_BYTES + 4, true) * 2 ** 32,
        view.getUint32(at + ID_BYTES + 8, true),
        view.getUint32(at + ID_BYTES + 12, true),
        body[at + ID_BYTES + 16]!,
      );
    }
    return null;
  }

  has(id: Uint8Array): boolean {
    return this.findEntry(id) >= 0;
  }

  /** Entry number of an ID (stable until the index is replaced), or -1. */
  entryNumber(id: Uint8Array): number {
    return this.findEntry(id);
  }

  get(id: Uint8Array): BlobLocation | undefined {
    const entry = this.findEntry(id);
    if (entry < 0) return undefined;
    return this.locationAt(entry);
  }

  private locationAt(entry: number): BlobLocation {
    return { offset: this.offsetOf(entry), recordLength: this.recordLengthOf(entry), rawLength: this.rawLengthOf(entry), kind: this.kindOf(entry) };
  }

  /** Adds or moves a blob (a relocated record replaces the old location); returns its entry number. */
  set(id: Uint8Array, location: BlobLocation): number {
    const existing = this.findEntry(id);
    const entry = existing >= 0 ? existing : this.appendAt(id, 0);
    this.store(entry, location.offset, location.recordLength, location.rawLength, location.kind);
    return entry;
  }

  /** The entry with this number (0 ≤ entry < size); its id is a view into the index. */
  entryAt(entry: number): BlobEntry {
    assert(entry >= 0 && entry < this.used, "index entry number out of range");
    return { id: this.idOf(entry), ...this.locationAt(entry) };
  }

  /** Objects, one per entry: for small indexes and tests; the vault's own passes use the accessors. */
  *entries(): Generator<BlobEntry> {
    for (let entry = 0; entry < this.used; entry++) yield this.entryAt(entry);
  }

  /** A new index holding only the entries `keep` accepts, in entry order (compaction). */
  filtered(keep: (entry: number) => boolean): BlobIndex {
    let count = 0;
    for (let entry = 0; entry < this.used; entry++) if (keep(entry)) count++;
    const result = new BlobIndex(count);
    for (let entry = 0; entry < this.used; entry++) {
      if (!keep(entry)) continue;
      const page = this.pages[entry >>> PAGE_SHIFT]!;
      const copy = result.appendAt(page.ids, (entry & PAGE_MASK) * ID_BYTES);
      result.store(copy, this.offsetOf(entry), this.recordLengthOf(entry), this.rawLengthOf(entry), this.kindOf(entry));
    }
    return result;
  }

  /** Index record body (FORMAT.md §7) of entries start … end − 1, written straight from the pages. */
  encodeRange(start: number, end: number): Uint8Array {
    assert(start >= 0 && start <= end && end <= this.used, "index entry range out of bounds");
    const body = new Uint8Array((end - start) * INDEX_ENTRY_SIZE_BYTES);
    const view = new DataView(body.buffer);
    for (let entry = start; entry < end; entry++) this.encodeOne(entry, body, view, (entry - start) * INDEX_ENTRY_SIZE_BYTES);
    return body;
  }

  /** Index record body of the listed entries, in list order. */
  encodeList(numbers: Int32Array): Uint8Array {
    const body = new Uint8Array(numbers.length * INDEX_ENTRY_SIZE_BYTES);
    const view = new DataView(body.buffer);
    numbers.forEach((entry, i) => this.encodeOne(entry, body, view, i * INDEX_ENTRY_SIZE_BYTES));
    return body;
  }

  private encodeOne(entry: number, body: Uint8Array, view: DataView, at: number): void {
    body.set(this.idOf(entry), at);
    const offset = this.offsetOf(entry);
    view.setUint32(at + ID_BYTES, offset % 2 ** 32, true);
    view.setUint32(at + ID_BYTES + 4, Math.floor(offset / 2 ** 32), true);
    view.setUint32(at + ID_BYTES + 8, this.recordLengthOf(entry), true);
    view.setUint32(at + ID_BYTES + 12, this.rawLengthOf(entry), true);
    body[at + ID_BYTES + 16] = this.kindOf(entry);
  }
}

/** One bit per index entry: which blobs a set of snapshots references. */
export class LiveSet {
  private readonly bits: Uint8Array;

  constructor(private readonly index: BlobIndex) {
    this.bits = new Uint8Array(Math.ceil(index.size / 8));
  }

  /** Marks id live; false when it was already marked or is not in the index. */
  add(id: Uint8Array): boolean {
    const entry = this.index.entryNumber(id);
    if (entry < 0) return false;
    const mask = 1 << (entry & 7);
    if ((this.bits[entry >> 3]! & mask) !== 0) return false;
    this.bits[entry >> 3]! |= mask;
    return true;
  }

  has(id: Uint8Array): boolean {
    const entry = this.index.entryNumber(id);
    return entry >= 0 && this.hasEntry(entry);
  }

  /** Whether the index entry with this number is marked (no lookup). */
  hasEntry(entry: number): boolean {
    return (this.bits[entry >> 3]! & (1 << (entry & 7))) !== 0;
  }
}

const BLOB_KIND_CODES = new Set<number>([RecordKind.data, RecordKind.tree, RecordKind.snapshot]);

/**
 * What is wrong with an index record body (FORMAT.md §7), or null. Every entry must name a whole
 * record inside the committed log (logEndBytes): reading one that does not could allocate at will.
 */
function indexRecordProblem(body: Uint8Array, logEndBytes: number): string | null {
  if (body.byteLength % INDEX_ENTRY_SIZE_BYTES !== 0) return "index record length is not a multiple of the entry size";
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at < body.byteLength; at += INDEX_ENTRY_SIZE_BYTES) {
    const high = view.getUint32(at + ID_BYTES + 4, true);
    if (high > 0x1fffff) return `index entry out of range: u64 ${view.getBigUint64(at + ID_BYTES, true)} exceeds 2^53`;
    const offset = view.getUint32(at + ID_BYTES, true) + high * 2 ** 32;
    const recordLength = view.getUint32(at + ID_BYTES + 8, true);
    const withinLog =
      offset >= LOG_START_OFFSET &&
      recordLength >= RECORD_OVERHEAD_BYTES &&
      recordLength <= RECORD_OVERHEAD_BYTES + RECORD_BODY_SIZE_MAX_BYTES &&
      offset + recordLength <= logEndBytes;
    if (!withinLog) return `an entry points outside the log, at offset ${offset}`;
    const kind = body[at + ID_BYTES + 16]!;
    if (!BLOB_KIND_CODES.has(kind)) return `index entry has kind ${kind}, not a blob kind`;
    if ((body[at + ID_BYTES + 17]! | body[at + ID_BYTES + 18]! | body[at + ID_BYTES + 19]!) !== 0) return "index entry reserved bytes are not zero";
  }
  return null;
}

/** Index record body: entries of 52 bytes. FORMAT.md §7. */
export function encodeIndexEntries(entries: readonly BlobEntry[]): Uint8Array {
  const writer = new ByteWriter(entries.length * INDEX_ENTRY_SIZE_BYTES);
  for (const entry of entries) {
    writer.raw(entry.id).u64(entry.offset).u32(entry.recordLength).u32(entry.rawLength).u8(entry.kind).zeros(3);
  }
  return writer.finish(true);
}

export function decodeIndexEntries(body: Uint8Array): BlobEntry[] | string {
  try {
    return decodeIndexEntriesChecked(body);
  } catch (error) {
    if (error instanceof ShortReadError) return `index entry out of range: ${error.message}`;
    throw error;
  }
}

function decodeIndexEntriesChecked(body: Uint8Array): BlobEntry[] | string {
  if (body.byteLength % INDEX_ENTRY_SIZE_BYTES !== 0) return "index record length is not a multiple of the entry size";
  const reader = new ByteReader(body);
  const entries: BlobEntry[] = [];
  while (reader.remaining > 0) {
    const id = reader.bytesView(ID_BYTES);
    const offset = reader.u64();
    const recordLength = reader.u32();
    const rawLength = reader.u32();
    const kind = reader.u8();
    const reserved = reader.bytesView(3);
    if (!BLOB_KIND_CODES.has(kind)) return `index entry has kind ${kind}, not a blob kind`;
    if (reserved.some((b) => b !== 0)) return "index entry reserved bytes are not zero";
    entries.push({ id, offset, recordLength, rawLength, kind: kind as RecordKindCode });
  }
  return entries;
}
