/** Compress-then-encrypt of one blob into a complete record; shared by the main thread and workers. */
import type { Random } from "../util/random.ts";
import { type Codec, compressRoomBytes } from "./compress.ts";
import { RECORD_FLAG_ZSTD, type RecordKindCode } from "./format.ts";
import { type RecordKeys, sealedRecordSizeBytes, sealRecord, sealRecordInto } from "./record.ts";

export interface SealedBlob {
  readonly record: Uint8Array;
  readonly rawLength: number;
}

export function sealBlob(keys: RecordKeys, random: Random, codec: Codec, kind: RecordKindCode, id: Uint8Array, raw: Uint8Array): SealedBlob {
  const { flags, payload } = codec.compress(raw);
  return { record: sealRecord(keys, random, { kind, id, flags, payload, rawLength: raw.byteLength }), rawLength: raw.byteLength };
}

/** Where a record of sizeBytes is to be sealed: a buffer with that much room at offset. */
export type RecordRoom = (sizeBytes: number) => { readonly buffer: Uint8Array; readonly offset: number };

/** sealBlob into the room that `room` gives for the record's size; returns the record's size. */
export function sealBlobInto(keys: RecordKeys, random: Random, codec: Codec, kind: RecordKindCode, id: Uint8Array, raw: Uint8Array, room: RecordRoom): number {
  const { flags, payload } = codec.compress(raw);
  const { buffer, offset } = room(sealedRecordSizeBytes(payload.byteLength));
  return sealRecordInto(keys, random, { kind, id, flags, payload, rawLength: raw.byteLength }, buffer, offset);
}

/** A run of records in one buffer of exactly their size: records[i] is a view of it. */
export interface SealedRun {
  readonly buffer: Uint8Array;
  readonly records: Uint8Array[];
}

/** zstd frames of the run being sealed (grown on demand, reused: sealing is synchronous). */
let frames = new Uint8Array(0);

/**
 * sealBlob of many blobs into one exactly sized buffer (issue 5: a big file's block of new chunks
 * was one allocation and one transferred buffer per record). All are compressed first, into one
 * scratch buffer, so the run's size is known before the buffer is allocated; no payload is copied
 * more than sealBlob copies it.
 */
export function sealBlobRun(keys: RecordKeys, random: Random, codec: Codec, kind: RecordKindCode, ids: readonly Uint8Array[], raws: readonly Uint8Array[]): SealedRun {
  let room = 0;
  for (const raw of raws) room += compressRoomBytes(raw.byteLength);
  if (frames.byteLength < room) frames = new Uint8Array(room);
  const payloads: Uint8Array[] = [];
  const flags: number[] = [];
  let framesUsed = 0;
  let total = 0;
  for (const raw of raws) {
    const length = codec.compressInto(raw, frames, framesUsed);
    const payload = length < 0 ? raw : frames.subarray(framesUsed, framesUsed + length);
    if (length >= 0) framesUsed += length;
    payloads.push(payload);
    flags.push(length < 0 ? 0 : RECORD_FLAG_ZSTD);
    total += sealedRecordSizeBytes(payload.byteLength);
  }
  // Every byte is written; unpooled, so a worker can transfer it.
  const buffer = new Uint8Array(Buffer.allocUnsafeSlow(total).buffer);
  const records: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < raws.length; i++) {
    const size = sealRecordInto(keys, random, { kind, id: ids[i]!, flags: flags[i]!, payload: payloads[i]!, rawLength: raws[i]!.byteLength }, buffer, at);
    records.push(buffer.subarray(at, at + size));
    at += size;
  }
  return { buffer, records };
}
