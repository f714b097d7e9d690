/** Compress-then-encrypt of one blob into a complete record; shared by the main thread and workers. */
import type { Random } from "../util/random.ts";
import type { Codec } from "./compress.ts";
import type { RecordKindCode } from "./format.ts";
import { type RecordKeys, sealRecord } from "./record.ts";

export interface SealedBlob {
  readonly record: Uint8Array;
  readonly rawLength: number;
}

export function sealBlob(keys: RecordKeys, random: Random, codec: Codec, kind: RecordKindCode, id: Uint8Array, raw: Uint8Array): SealedBlob {
  const { flags, payload } = codec.compress(raw);
  return { record: sealRecord(keys, random, { kind, id, flags, payload, rawLength: raw.byteLength }), rawLength: raw.byteLength };
}
