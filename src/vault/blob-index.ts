/**
 * The in-memory blob index: blob ID → where its record is. Stored in flat typed arrays (about 57
 * bytes per blob, no object per blob) so millions of chunks stay cheap. Open addressing on the
 * first four bytes of the ID, which is a keyed hash and therefore uniform.
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
const CAPACITY_MIN = 1024;

export class BlobIndex {
  private capacity = 0;
  private ids = new Uint8Array(0);
  private offsets = new Float64Array(0);
  private recordLengths = new Uint32Array(0);
  private rawLengths = new Uint32Array(0);
  private kinds = new Uint8Array(0);
  /** Entry index + 1 per slot; 0 is empty. Twice the capacity keeps probes short. */
  private slots = new Int32Array(0);
  private slotMask = 0;
  private used = 0;

  constructor(capacityHint = CAPACITY_MIN) {
    this.grow(Math.max(CAPACITY_MIN, capacityHint));
  }

  get size(): number {
    return this.used;
  }

  /** Bytes held by the typed arrays (reported by `info`, checked in tests). */
  get memoryBytes(): number {
    return this.ids.byteLength + this.offsets.byteLength + this.recordLengths.byteLength + this.rawLengths.byteLength + this.kinds.byteLength + this.slots.byteLength;
  }

  private hashSlot(id: Uint8Array): number {
    assert(id.byteLength === ID_BYTES, "blob id must be 32 bytes");
    return ((id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) >>> 0) & this.slotMask;
  }

  /** Whether entry holds the id stored at source[at .. at + 32). */
  private sameId(entry: number, source: Uint8Array, at = 0): boolean {
    const ids = this.ids;
    const base = entry * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) if (ids[base + i] !== source[at + i]) return false;
    return true;
  }

  private findEntry(id: Uint8Array): number {
    return this.findAt(id, 0, this.hashSlot(id));
  }

  private findAt(source: Uint8Array, at: number, firstSlot: number): number {
    let slot = firstSlot;
    for (;;) {
      const stored = this.slots[slot]!;
      if (stored === 0) return -1;
      if (this.sameId(stored - 1, source, at)) return stored - 1;
      slot = (slot + 1) & this.slotMask;
    }
  }

  /**
   * Adds the entries of an index record body (FORMAT.md §7) straight into the typed arrays: no
   * object per entry, so opening a vault with millions of blobs costs little more than the copy.
   * Returns a problem string (and adds nothing) when the body is malformed or an entry does not name
   * a whole record inside the committed log (logEndBytes): reading it could then allocate at will.
   */
  addIndexRecord(body: Uint8Array, logEndBytes: number): string | null {
    if (body.byteLength % INDEX_ENTRY_SIZE_BYTES !== 0) return "index record length is not a multiple of the entry size";
    const count = body.byteLength / INDEX_ENTRY_SIZE_BYTES;
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    // Validate first so a damaged record leaves the index untouched.
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
    if (this.used + count > this.capacity) this.grow(Math.max(this.used + count, Math.ceil(this.capacity * 1.5)));
    for (let at = 0; at < body.byteLength; at += INDEX_ENTRY_SIZE_BYTES) {
      const firstSlot = ((body[at]! | (body[at + 1]! << 8) | (body[at + 2]! << 16) | (body[at + 3]! << 24)) >>> 0) & this.slotMask;
      let entry = this.findAt(body, at, firstSlot);
      if (entry < 0) {
        entry = this.used++;
        this.ids.set(body.subarray(at, at + ID_BYTES), entry * ID_BYTES);
        let slot = firstSlot;
        while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
        this.slots[slot] = entry + 1;
      }
      this.offsets[entry] = view.getUint32(at + ID_BYTES, true) + view.getUint32(at + ID_BYTES + 4, true) * 2 ** 32;
      this.recordLengths[entry] = view.getUint32(at + ID_BYTES + 8, true);
      this.rawLengths[entry] = view.getUint32(at + ID_BYTES + 12, true);
      this.kinds[entry] = body[at + ID_BYTES + 16]!;
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
    return {
      offset: this.offsets[entry]!,
      recordLength: this.recordLengths[entry]!,
      rawLength: this.rawLengths[entry]!,
      kind: this.kinds[entry]! as RecordKindCode,
    };
  }

  /** Adds or moves a blob (a relocated record replaces the old location); returns its entry number. */
  set(id: Uint8Array, location: BlobLocation): number {
    const existing = this.findEntry(id);
    const entry = existing >= 0 ? existing : this.append(id);
    this.offsets[entry] = location.offset;
    this.recordLengths[entry] = location.recordLength;
    this.rawLengths[entry] = location.rawLength;
    this.kinds[entry] = location.kind;
    return entry;
  }

  /** The entry with this number (0 ≤ entry < size); its id is a view into the index. */
  entryAt(entry: number): BlobEntry {
    assert(entry >= 0 && entry < this.used, "index entry number out of range");
    return { id: this.ids.subarray(entry * ID_BYTES, entry * ID_BYTES + ID_BYTES), ...this.locationAt(entry) };
  }

  private append(id: Uint8Array): number {
    if (this.used === this.capacity) this.grow(Math.ceil(this.capacity * 1.5));
    const entry = this.used++;
    this.ids.set(id, entry * ID_BYTES);
    this.insertSlot(entry);
    return entry;
  }

  private insertSlot(entry: number): void {
    let slot = this.hashSlot(this.ids.subarray(entry * ID_BYTES, entry * ID_BYTES + ID_BYTES));
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.slotMask;
    this.slots[slot] = entry + 1;
  }

  private grow(capacity: number): void {
    const copy = <T extends Uint8Array | Float64Array | Uint32Array>(old: T, fresh: T): T => {
      fresh.set(old.subarray(0, this.used) as never);
      return fresh;
    };
    const ids = new Uint8Array(capacity * ID_BYTES);
    ids.set(this.ids.subarray(0, this.used * ID_BYTES));
    this.ids = ids;
    this.offsets = copy(this.offsets, new Float64Array(capacity));
    this.recordLengths = copy(this.recordLengths, new Uint32Array(capacity));
    this.rawLengths = copy(this.rawLengths, new Uint32Array(capacity));
    this.kinds = copy(this.kinds, new Uint8Array(capacity));
    this.capacity = capacity;
    let slotCount = 1;
    while (slotCount < capacity * 2) slotCount *= 2;
    this.slots = new Int32Array(slotCount);
    this.slotMask = slotCount - 1;
    for (let entry = 0; entry < this.used; entry++) this.insertSlot(entry);
  }

  *entries(): Generator<BlobEntry> {
    for (let entry = 0; entry < this.used; entry++) yield this.entryAt(entry);
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
    return entry >= 0 && (this.bits[entry >> 3]! & (1 << (entry & 7))) !== 0;
  }
}

const BLOB_KIND_CODES = new Set<number>([RecordKind.data, RecordKind.tree, RecordKind.snapshot]);

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
