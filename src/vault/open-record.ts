/**
 * Opening one blob record into its plaintext: authenticate, check it is the blob the index named,
 * decompress. Pure and shared by the vault's main thread and its record-opening workers, so both
 * accept and refuse exactly the same records with the same words.
 */
import { bytesEqual } from "../util/bytes.ts";
import type { Codec } from "./compress.ts";
import { type WriteFailure, type Written, writeOpened } from "./direct-write.ts";
import { RECORD_PREFIX_SIZE_BYTES, type RecordKindCode } from "./format.ts";
import { type RecordKeys, openRecordBody, openRecordHeader } from "./record.ts";

export const BLOB_ID_SIZE_BYTES = 32;

/** Why a record was refused; the caller turns it into VaultCorruptError at the record's offset. */
export interface RecordProblem {
  readonly problem: string;
  /** The decompressor's own message, kept as the error's cause. */
  readonly cause?: string;
}

export interface StoredRecord {
  readonly kind: RecordKindCode;
  readonly flags: number;
  readonly payload: Uint8Array;
  readonly rawLength: number;
}

export function openStored(keys: RecordKeys, record: Uint8Array, id: Uint8Array, kind: RecordKindCode): StoredRecord | RecordProblem {
  const opened = openRecordHeader(keys, record);
  if (typeof opened === "string") return { problem: opened };
  if (!bytesEqual(opened.header.id, id) || opened.header.kind !== kind) {
    return { problem: "record holds a different blob than the index says (swapped or misplaced)" };
  }
  const body = openRecordBody(keys, opened, record.subarray(RECORD_PREFIX_SIZE_BYTES));
  if (typeof body === "string") return { problem: body };
  return { kind, flags: opened.header.flags, payload: body, rawLength: opened.header.rawLength };
}

/** Where a record starts in a run's buffer, and its length (cut short at the end of the file). */
export interface RecordSlot {
  readonly at: number;
  readonly length: number;
  readonly kind: RecordKindCode;
  /** An open target file the plaintext is written to (at position) instead of handed back; -1: none. */
  readonly fd: number;
  readonly position: number;
}

export type RunResult = Uint8Array | RecordProblem | Written | WriteFailure;

/** This thread's buffer for plaintexts written straight to a target file (reused, never transferred). */
let scratch = Buffer.allocUnsafeSlow(0);

/**
 * Opens a run of records as openBlob would, with every plaintext a view into one new buffer: a
 * worker then hands the main thread one buffer per run instead of one per blob (fewer transfers
 * and far fewer ArrayBuffers for its garbage collector, issue 5). A slot with an fd gets its
 * plaintext written there instead, only once the record is authenticated and fully decompressed.
 * ids holds the slots' blob IDs.
 */
export function openBlobRun(keys: RecordKeys, codec: Codec, bytes: Uint8Array, slots: readonly RecordSlot[], ids: Uint8Array): RunResult[] {
  const stored = slots.map((slot, i) =>
    openStored(keys, bytes.subarray(slot.at, slot.at + slot.length), ids.subarray(i * BLOB_ID_SIZE_BYTES, (i + 1) * BLOB_ID_SIZE_BYTES), slot.kind),
  );
  let total = 0;
  stored.forEach((record, i) => {
    if ("payload" in record && slots[i]!.fd < 0) total += record.rawLength;
  });
  // Not zeroed, not pooled (so it can be transferred): every byte is written below.
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  return stored.map((record, i) => {
    if (!("payload" in record)) return record;
    const slot = slots[i]!;
    let raw: Uint8Array;
    if (slot.fd >= 0) {
      if (scratch.byteLength < record.rawLength) scratch = Buffer.allocUnsafeSlow(record.rawLength);
      raw = scratch.subarray(0, record.rawLength);
    } else {
      raw = out.subarray(at, at + record.rawLength);
      at += record.rawLength;
    }
    try {
      codec.decompressInto(record.flags, record.payload, record.rawLength, raw);
    } catch (cause) {
      return decompressProblem(cause);
    }
    return slot.fd >= 0 ? writeOpened(slot.fd, slot.position, raw) : raw;
  });
}

function decompressProblem(cause: unknown): RecordProblem {
  return { problem: "record payload does not decompress", cause: cause instanceof Error ? cause.message : String(cause) };
}

export function openBlob(keys: RecordKeys, codec: Codec, record: Uint8Array, id: Uint8Array, kind: RecordKindCode): Uint8Array | RecordProblem {
  const stored = openStored(keys, record, id, kind);
  if (!("payload" in stored)) return stored;
  try {
    const raw = codec.decompress(stored.flags, stored.payload, stored.rawLength);
    if (raw.byteLength !== stored.rawLength) throw new Error("length mismatch");
    return raw;
  } catch (cause) {
    return decompressProblem(cause);
  }
}
