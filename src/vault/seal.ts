/** Compress-then-encrypt of one blob into a complete record; shared by the main thread and workers. */
import type { Random } from "../util/random.ts";
import type { Codec } from "./compress.ts";
import type { RecordKindCode } from "./format.ts";
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
