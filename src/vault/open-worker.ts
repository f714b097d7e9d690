/**
 * Worker thread that opens blob records (AES-GCM, zstd) for the vault's record reader, so bulk
 * reads (restore, mount, cat) use every core. It gets one run of adjacent records read in a
 * single pread and answers with each record's plaintext or why it was refused.
 */
import { parentPort, workerData } from "node:worker_threads";
import { assert } from "../util/assert.ts";
import { Codec } from "./compress.ts";
import type { RecordKindCode } from "./format.ts";
import { BLOB_ID_SIZE_BYTES, type RecordProblem, openBlob } from "./open-record.ts";
import type { RecordKeys } from "./record.ts";

export interface OpenWorkerData {
  readonly recordKeys: RecordKeys;
}

export interface RecordSlot {
  /** Where the record starts in the run's buffer, and its length (cut short at the end of the file). */
  readonly at: number;
  readonly length: number;
  readonly kind: RecordKindCode;
}

export interface OpenRequest {
  readonly runId: number;
  readonly bytes: Uint8Array;
  readonly slots: readonly RecordSlot[];
  /** The slots' blob IDs, 32 bytes each, in one buffer: an ID is often a view into a whole tree blob, which postMessage would copy. */
  readonly ids: Uint8Array;
}

export interface OpenReply {
  readonly runId: number;
  readonly results: (Uint8Array | RecordProblem)[];
}

const port = parentPort;
assert(port !== null, "open-worker must run as a worker thread");
const keys = (workerData as OpenWorkerData).recordKeys;
const codec = new Codec();

port.on("message", (request: OpenRequest) => {
  const transfer = new Set<ArrayBuffer>();
  const results = request.slots.map((slot, i) => {
    const id = request.ids.subarray(i * BLOB_ID_SIZE_BYTES, (i + 1) * BLOB_ID_SIZE_BYTES);
    const result = openBlob(keys, codec, request.bytes.subarray(slot.at, slot.at + slot.length), id, slot.kind);
    // Pooled small Buffers are marked untransferable: postMessage copies those instead.
    if (result instanceof Uint8Array) transfer.add(result.buffer as ArrayBuffer);
    return result;
  });
  port.postMessage({ runId: request.runId, results } satisfies OpenReply, [...transfer]);
});
