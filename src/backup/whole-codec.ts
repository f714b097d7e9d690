/**
 * Small files a file worker read and sealed whole, packed for the trip to the main thread: the
 * files of one turn travel as five flat buffers in one message. A message per file (its objects,
 * an ID buffer and a transferred record buffer each) cost ~10 µs of structured clone and transfer
 * per file on a tree of small files, about as much as compressing the file.
 */
import { BLOB_ID_SIZE_BYTES } from "../core/ids.ts";
import { assert } from "../util/assert.ts";
import type { ChunkInfo, SealedChunk } from "./file-worker.ts";

export interface PackedWholes {
  /** Per file: file ID, chunk count, size in bytes. */
  readonly files: Float64Array;
  /** Per file: mtime and ctime in nanoseconds. */
  readonly times: BigInt64Array;
  /** Per chunk: size in bytes and its record's size in bytes (0: a hole, no record). */
  readonly chunks: Uint32Array;
  /** Per chunk: its ID (zeros for a hole). */
  readonly ids: Uint8Array;
  /** The records, one after another in chunk order. */
  readonly records: Uint8Array;
}

/** A small file as the main thread handles it: every chunk already sealed (null for holes). */
export interface WholeFile {
  readonly type: "whole";
  readonly fileId: number;
  readonly chunks: ChunkInfo[];
  readonly sealed: (SealedChunk | null)[];
  readonly sizeBytes: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** Where a packer stands: rewinding to it drops a file that failed half-way. */
export interface PackMark {
  readonly chunkNumbers: number;
  readonly idBytes: number;
  readonly recordBytes: number;
}

export class WholePacker {
  private files: number[] = [];
  private times: bigint[] = [];
  private chunks: number[] = [];
  /** Scratch buffers, reused from batch to batch: take() copies out what was used. */
  private ids: Uint8Array = new Uint8Array(64 * BLOB_ID_SIZE_BYTES);
  private idBytes = 0;
  private records: Uint8Array = new Uint8Array(64 * 1024);
  private recordBytesUsed = 0;

  /** Bytes of records packed since the last take(). */
  get recordBytes(): number {
    return this.recordBytesUsed;
  }

  /** Room for the next record at the end of the records (the worker's sealBlobInto seals it there). */
  readonly room = (sizeBytes: number): { buffer: Uint8Array; offset: number } => {
    const needed = this.recordBytesUsed + sizeBytes;
    if (needed > this.records.byteLength) this.records = grown(this.records, this.recordBytesUsed, needed);
    return { buffer: this.records, offset: this.recordBytesUsed };
  };

  mark(): PackMark {
    return { chunkNumbers: this.chunks.length, idBytes: this.idBytes, recordBytes: this.recordBytesUsed };
  }

  rewind(mark: PackMark): void {
    this.chunks.length = mark.chunkNumbers;
    this.idBytes = mark.idBytes;
    this.recordBytesUsed = mark.recordBytes;
  }

  addHole(sizeBytes: number): void {
    this.addChunk(null, sizeBytes, 0);
  }

  /** A chunk whose record of recordBytes was just sealed into room(). */
  addSealed(id: Uint8Array, sizeBytes: number, recordBytes: number): void {
    assert(this.recordBytesUsed + recordBytes <= this.records.byteLength, "sealed record outside its room");
    this.addChunk(id, sizeBytes, recordBytes);
    this.recordBytesUsed += recordBytes;
  }

  private addChunk(id: Uint8Array | null, sizeBytes: number, recordBytes: number): void {
    if (this.idBytes + BLOB_ID_SIZE_BYTES > this.ids.byteLength) this.ids = grown(this.ids, this.idBytes, this.idBytes + BLOB_ID_SIZE_BYTES);
    if (id === null) this.ids.fill(0, this.idBytes, this.idBytes + BLOB_ID_SIZE_BYTES);
    else this.ids.set(id, this.idBytes);
    this.idBytes += BLOB_ID_SIZE_BYTES;
    this.chunks.push(sizeBytes, recordBytes);
  }

  /** Ends a file whose chunkCount chunks were added last. */
  addFile(fileId: number, chunkCount: number, sizeBytes: number, mtimeNs: bigint, ctimeNs: bigint): void {
    this.files.push(fileId, chunkCount, sizeBytes);
    this.times.push(mtimeNs, ctimeNs);
  }

  /**
   * The files packed since the last call, in two buffers of their own to transfer; null when none.
   * The numbers and the records share one buffer (one allocation and one transfer, not four: issue 5);
   * the IDs have their own, as the nodes keep them and must not keep the records alive.
   */
  take(): { packed: PackedWholes; transfer: ArrayBuffer[] } | null {
    const fileNumbers = this.files.length;
    if (fileNumbers === 0) return null;
    const timeNumbers = this.times.length;
    const chunkNumbers = this.chunks.length;
    const timesAt = fileNumbers * 8;
    const chunksAt = timesAt + timeNumbers * 8;
    const recordsAt = chunksAt + chunkNumbers * 4;
    const buffer = new ArrayBuffer(recordsAt + this.recordBytesUsed);
    const files = new Float64Array(buffer, 0, fileNumbers);
    for (let i = 0; i < fileNumbers; i++) files[i] = this.files[i]!;
    const times = new BigInt64Array(buffer, timesAt, timeNumbers);
    for (let i = 0; i < timeNumbers; i++) times[i] = this.times[i]!;
    const chunks = new Uint32Array(buffer, chunksAt, chunkNumbers);
    for (let i = 0; i < chunkNumbers; i++) chunks[i] = this.chunks[i]!;
    const records = new Uint8Array(buffer, recordsAt, this.recordBytesUsed);
    records.set(this.records.subarray(0, this.recordBytesUsed));
    const ids = this.ids.slice(0, this.idBytes);
    this.files.length = 0;
    this.times.length = 0;
    this.chunks.length = 0;
    this.idBytes = 0;
    this.recordBytesUsed = 0;
    return { packed: { files, times, chunks, ids, records }, transfer: [buffer, ids.buffer as ArrayBuffer] };
  }
}

function grown(buffer: Uint8Array, used: number, needed: number): Uint8Array {
  const bigger = new Uint8Array(Math.max(needed, buffer.byteLength * 2));
  bigger.set(buffer.subarray(0, used));
  return bigger;
}

/** The files of a packed batch; IDs and records are views of its buffers. */
export function unpackWholes(packed: PackedWholes): WholeFile[] {
  const files: WholeFile[] = [];
  let chunk = 0;
  let recordAt = 0;
  for (let f = 0; f < packed.files.length; f += 3) {
    const count = packed.files[f + 1]!;
    // Their exact size: a pushed-to empty array grows room for 17 (two per small file, issue 5).
    const chunks = new Array<ChunkInfo>(count);
    const sealed = new Array<SealedChunk | null>(count);
    for (let i = 0; i < count; i++, chunk++) {
      const sizeBytes = packed.chunks[2 * chunk]!;
      const recordBytes = packed.chunks[2 * chunk + 1]!;
      if (recordBytes === 0) {
        chunks[i] = { id: null, sizeBytes };
        sealed[i] = null;
        continue;
      }
      const id = packed.ids.subarray(chunk * BLOB_ID_SIZE_BYTES, (chunk + 1) * BLOB_ID_SIZE_BYTES);
      chunks[i] = { id, sizeBytes };
      sealed[i] = { id, record: packed.records.subarray(recordAt, recordAt + recordBytes), rawLength: sizeBytes };
      recordAt += recordBytes;
    }
    const t = (f / 3) * 2;
    files.push({ type: "whole", fileId: packed.files[f]!, chunks, sealed, sizeBytes: packed.files[f + 2]!, mtimeNs: packed.times[t]!, ctimeNs: packed.times[t + 1]! });
  }
  return files;
}
