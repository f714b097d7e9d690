/** Worker thread: compresses and encrypts blobs into records (the CPU-heavy end of a backup). */
import { parentPort, workerData } from "node:worker_threads";
import { assert } from "../util/assert.ts";
import { systemRandom } from "../util/random.ts";
import { Codec } from "./compress.ts";
import type { RecordKindCode } from "./format.ts";
import type { RecordKeys } from "./record.ts";
import { sealBlob } from "./seal.ts";

export interface SealWorkerData {
  readonly keys: RecordKeys;
  readonly compressionLevel: number;
}

export interface SealRequest {
  readonly taskId: number;
  readonly kind: RecordKindCode;
  readonly id: Uint8Array;
  readonly raw: Uint8Array;
}

export interface SealResponse {
  readonly taskId: number;
  readonly record?: Uint8Array;
  readonly rawLength?: number;
  readonly error?: string;
}

const port = parentPort;
assert(port !== null, "seal-worker must run as a worker thread");
const data = workerData as SealWorkerData;
const codec = new Codec(data.compressionLevel);

port.on("message", (request: SealRequest) => {
  try {
    const sealed = sealBlob(data.keys, systemRandom, codec, request.kind, request.id, request.raw);
    const response: SealResponse = { taskId: request.taskId, record: sealed.record, rawLength: sealed.rawLength };
    port.postMessage(response, [sealed.record.buffer as ArrayBuffer]);
  } catch (error) {
    port.postMessage({ taskId: request.taskId, error: error instanceof Error ? error.message : String(error) } satisfies SealResponse);
  }
});
