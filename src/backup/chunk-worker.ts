/**
 * Worker thread: reads one file at a time, cuts it into chunks (keyed FastCDC), names each chunk
 * with the keyed hash and sends them to the main thread, which decides what is new. Zero runs are
 * sent as holes without data. Flow control: at most CHUNK_WORKER_BLOCKS_AHEAD blocks per file are
 * unacknowledged, so a slow vault slows the reading instead of filling memory.
 */
import { open } from "node:fs/promises";
import { constants } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { Chunker, gearTableFromKey } from "../chunker/cdc.ts";
import type { ChunkerParams } from "../chunker/params.ts";
import { blobIdHasher } from "../crypto/blob-id.ts";
import { assert } from "../util/assert.ts";
import { CHUNK_READ_BLOCK_BYTES, CHUNK_WORKER_BLOCKS_AHEAD } from "../util/limits.ts";

export interface ChunkWorkerData {
  readonly chunkerKey: Uint8Array;
  readonly blobIdKey: Uint8Array;
  readonly params: ChunkerParams;
}

export type ChunkRequest =
  | { readonly type: "file"; readonly taskId: number; readonly path: Uint8Array }
  | { readonly type: "ack"; readonly taskId: number };

/** A chunk: data is absent for a hole (all-zero chunk). */
export interface ChunkMessage {
  readonly id: Uint8Array | null;
  readonly sizeBytes: number;
  readonly data: Uint8Array | null;
}

export type ChunkResponse =
  | { readonly type: "chunks"; readonly taskId: number; readonly chunks: ChunkMessage[] }
  | {
      readonly type: "done";
      readonly taskId: number;
      readonly sizeBytes: number;
      readonly mtimeNs: string;
      readonly ctimeNs: string;
    }
  | { readonly type: "error"; readonly taskId: number; readonly code: string; readonly message: string };

const port = parentPort;
assert(port !== null, "chunk-worker must run as a worker thread");
const data = workerData as ChunkWorkerData;
const chunker = new Chunker(data.params, gearTableFromKey(data.chunkerKey));
const hashBlobId = blobIdHasher(data.blobIdKey);
const zeros = new Uint8Array(data.params.maxSizeBytes);
/** Read buffers reused across files (one per file in progress): allocating 4 MiB per file dominated small files. */
const spareBuffers: Uint8Array[] = [];

const credits = new Map<number, { available: number; wake: (() => void) | null }>();
const queue: { taskId: number; path: Uint8Array }[] = [];
/** Two files per worker, so one file's read wait overlaps the other's chunking. */
const FILES_PER_WORKER = 2;
let running = 0;

function isZero(bytes: Uint8Array): boolean {
  return Buffer.compare(bytes, zeros.subarray(0, bytes.byteLength)) === 0;
}

async function waitForCredit(taskId: number): Promise<void> {
  const state = credits.get(taskId)!;
  while (state.available === 0) await new Promise<void>((resolve) => (state.wake = resolve));
  state.available--;
}

async function chunkFile(taskId: number, path: Uint8Array): Promise<void> {
  credits.set(taskId, { available: CHUNK_WORKER_BLOCKS_AHEAD, wake: null });
  const buffers: Uint8Array[] = [];
  const handle = await open(Buffer.from(path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const buffer = spareBuffers.pop() ?? new Uint8Array(CHUNK_READ_BLOCK_BYTES + data.params.maxSizeBytes);
    buffers.push(buffer);
    let filled = 0;
    let total = 0;
    let eof = false;
    while (!eof || filled > 0) {
      if (!eof) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.byteLength - filled, null);
        if (bytesRead === 0) eof = true;
        filled += bytesRead;
        total += bytesRead;
        if (!eof && filled < buffer.byteLength) continue;
      }
      const chunks: ChunkMessage[] = [];
      const transfer: ArrayBuffer[] = [];
      let start = 0;
      for (;;) {
        const length = chunker.nextCut(buffer, start, filled, eof);
        if (length <= 0) break;
        const piece = buffer.subarray(start, start + length);
        if (isZero(piece)) {
          chunks.push({ id: null, sizeBytes: length, data: null });
        } else {
          const copy = piece.slice();
          chunks.push({ id: hashBlobId(copy), sizeBytes: length, data: copy });
          transfer.push(copy.buffer);
        }
        start += length;
      }
      buffer.copyWithin(0, start, filled);
      filled -= start;
      if (chunks.length > 0) {
        await waitForCredit(taskId);
        port!.postMessage({ type: "chunks", taskId, chunks } satisfies ChunkResponse, transfer);
      }
      if (eof && filled === 0) break;
    }
    const stat = await handle.stat({ bigint: true });
    port!.postMessage({
      type: "done",
      taskId,
      sizeBytes: total,
      mtimeNs: stat.mtimeNs.toString(),
      ctimeNs: stat.ctimeNs.toString(),
    } satisfies ChunkResponse);
  } finally {
    credits.delete(taskId);
    spareBuffers.push(...buffers);
    await handle.close();
  }
}

async function drain(): Promise<void> {
  if (running >= FILES_PER_WORKER) return;
  running++;
  while (queue.length > 0) {
    const task = queue.shift()!;
    try {
      await chunkFile(task.taskId, task.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "EIO";
      const message = error instanceof Error ? error.message : String(error);
      port!.postMessage({ type: "error", taskId: task.taskId, code, message } satisfies ChunkResponse);
    }
  }
  running--;
}

port.on("message", (request: ChunkRequest) => {
  if (request.type === "ack") {
    const state = credits.get(request.taskId);
    if (state !== undefined) {
      state.available++;
      state.wake?.();
      state.wake = null;
    }
    return;
  }
  queue.push({ taskId: request.taskId, path: request.path });
  void drain();
});

