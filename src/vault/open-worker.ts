/**
 * Worker thread that opens blob records (AES-GCM, zstd) for the vault's record reader, so bulk
 * reads (restore, mount, cat) use every core. It gets one run of adjacent records read in a
 * single pread and answers with each record's plaintext (views of one buffer) or why it was refused;
 * a slot that names a target file has its plaintext written there (restore of big files).
 */
import { parentPort, workerData } from "node:worker_threads";
import { assert } from "../util/assert.ts";
import { awaitWorkerData, type DeferredWorkerData } from "../util/worker.ts";
import { Codec } from "./compress.ts";
import { type RecordSlot, type RunResult, openBlobRun } from "./open-record.ts";
import type { RecordKeys } from "./record.ts";

export interface OpenWorkerData {
  readonly recordKeys: RecordKeys;
}

export type { RecordSlot } from "./open-record.ts";

export interface OpenRequest {
  readonly runId: number;
  readonly bytes: Uint8Array;
  readonly slots: readonly RecordSlot[];
  /** The slots' blob IDs, 32 bytes each, in one buffer: an ID is often a view into a whole tree blob, which postMessage would copy. */
  readonly ids: Uint8Array;
}

export interface OpenReply {
  readonly runId: number;
  /** Per slot: its plaintext, or (for a slot with an fd) what writing it did, or why it was refused. */
  readonly results: RunResult[];
}

const port = parentPort;
assert(port !== null, "open-worker must run as a worker thread");
const codec = new Codec();
const keys = awaitWorkerData<OpenWorkerData>(workerData as OpenWorkerData | DeferredWorkerData).recordKeys;

port.on("message", (request: OpenRequest) => {
  const results = openBlobRun(keys, codec, request.bytes, request.slots, request.ids);
  // The plaintexts are views of one buffer: handing it over moves them all.
  const buffer = results.find((result) => result instanceof Uint8Array)?.buffer;
  port.postMessage({ runId: request.runId, results } satisfies OpenReply, buffer === undefined ? [] : [buffer as ArrayBuffer]);
});
