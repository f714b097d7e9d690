/**
 * Worker thread that reads and opens blob records (AES-GCM, zstd) for the vault's record reader, so
 * bulk reads (restore, mount, cat) use every core. It gets one run of adjacent records, reads it
 * with pread on the vault's descriptor itself (the main thread then never holds the ciphertext, and
 * the worker reuses its read buffers: fewer ArrayBuffers for either thread's garbage collector,
 * issue 5), and answers with each record's plaintext (views of one buffer) or why it was refused.
 */
import { parentPort, workerData } from "node:worker_threads";
import { assert } from "../util/assert.ts";
import { Codec } from "./compress.ts";
import { type RecordProblem, type RecordSlot, openBlobRun } from "./open-record.ts";
import type { RecordKindCode } from "./format.ts";
import type { RecordKeys } from "./record.ts";
import { readFdAt } from "./vault-file.ts";

export interface OpenWorkerData {
  readonly recordKeys: RecordKeys;
  /** The vault file's descriptor (open for the worker's whole life: the reader stops its workers before the file closes). */
  readonly fd: number;
  /** Size of a read buffer: most runs fit one. */
  readonly readBufferBytes: number;
}

export interface OpenRequest {
  readonly runId: number;
  /** The run's place in the vault file. */
  readonly start: number;
  readonly length: number;
  /** Per record, its offset in the run and its length; typed arrays clone cheaply, unlike one object per record. */
  readonly places: Uint32Array;
  readonly kinds: Uint8Array;
  /** The records' blob IDs, 32 bytes each, in one buffer: an ID is often a view into a whole tree blob, which postMessage would copy. */
  readonly ids: Uint8Array;
}

export type OpenReply =
  | { readonly runId: number; readonly results: (Uint8Array | RecordProblem)[] }
  /** The run could not be read: the OS error's message and code. */
  | { readonly runId: number; readonly readError: { readonly message: string; readonly code?: string } };

/** Read buffers kept for reuse: runs in flight per worker rarely exceed this. */
const READ_BUFFERS_KEPT = 4;

const port = parentPort;
assert(port !== null, "open-worker must run as a worker thread");
const { recordKeys: keys, fd, readBufferBytes } = workerData as OpenWorkerData;
const codec = new Codec();
const spare: Buffer[] = [];

function readBuffer(length: number): Buffer {
  const index = spare.findIndex((buffer) => buffer.byteLength >= length);
  if (index >= 0) return spare.splice(index, 1)[0]!;
  return Buffer.allocUnsafeSlow(Math.max(length, readBufferBytes));
}

async function openRun(request: OpenRequest): Promise<void> {
  const buffer = readBuffer(request.length);
  try {
    let bytesRead: number;
    try {
      bytesRead = await readFdAt(fd, buffer, request.length, request.start);
    } catch (error) {
      const { message, code } = error as NodeJS.ErrnoException;
      port!.postMessage({ runId: request.runId, readError: { message: String(message), ...(code === undefined ? {} : { code }) } } satisfies OpenReply);
      return;
    }
    // Records cut short by the end of the file are refused by openBlobRun, as on the main thread.
    const slots: RecordSlot[] = [];
    for (let i = 0; i < request.kinds.length; i++) {
      const at = request.places[2 * i]!;
      slots.push({ at, length: Math.max(0, Math.min(request.places[2 * i + 1]!, bytesRead - at)), kind: request.kinds[i] as RecordKindCode });
    }
    const results = openBlobRun(keys, codec, buffer.subarray(0, bytesRead), slots, request.ids);
    // The plaintexts are views of one buffer of their own: handing it over moves them all.
    const out = results.find((result) => result instanceof Uint8Array)?.buffer;
    port!.postMessage({ runId: request.runId, results } satisfies OpenReply, out === undefined ? [] : [out as ArrayBuffer]);
  } finally {
    // openBlobRun copied every plaintext out of the read buffer: it can take the next run.
    if (spare.length < READ_BUFFERS_KEPT) spare.push(buffer);
  }
}

// A rejection (a bug) is unhandled and ends the worker; the reader then reads and opens everything itself.
port.on("message", (request: OpenRequest) => void openRun(request));
