/** Main-thread side of the chunk workers: hands out files, relays chunks, acknowledges blocks. */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { AssertionError } from "../util/assert.ts";
import { startWorker } from "../util/worker-url.ts";
import type { ChunkMessage, ChunkRequest, ChunkResponse, ChunkWorkerData } from "./chunk-worker.ts";

export interface ChunkedFile {
  readonly sizeBytes: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** An error reading the file, with the errno code the worker saw. */
export class FileReadError extends Error {
  override name = "FileReadError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Task {
  readonly worker: number;
  readonly onChunks: (chunks: ChunkMessage[]) => Promise<void>;
  readonly resolve: (result: ChunkedFile) => void;
  readonly reject: (error: Error) => void;
  /** Chunk batches are handled in order; the done message waits for them. */
  chain: Promise<void>;
}

export class ChunkPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly tasks = new Map<number, Task>();
  private nextTaskId = 1;
  private failure: Error | null = null;

  constructor(data: ChunkWorkerData, workerCount = availableParallelism()) {
    for (let i = 0; i < Math.max(1, workerCount); i++) {
      const worker = startWorker("chunk-worker", import.meta.url, data);
      worker.on("message", (response: ChunkResponse) => this.receive(i, response));
      worker.on("error", (error) => {
        this.failure = error;
        for (const task of this.tasks.values()) task.reject(error);
        this.tasks.clear();
      });
      this.workers.push(worker);
      this.load.push(0);
    }
  }

  private receive(workerIndex: number, response: ChunkResponse): void {
    const task = this.tasks.get(response.taskId);
    if (task === undefined) return;
    if (response.type === "chunks") {
      task.chain = task.chain.then(async () => {
        await task.onChunks(response.chunks);
        this.workers[workerIndex]!.postMessage({ type: "ack", taskId: response.taskId } satisfies ChunkRequest);
      });
      task.chain.catch(() => undefined);
      return;
    }
    this.tasks.delete(response.taskId);
    this.load[task.worker]!--;
    if (response.type === "error") {
      task.chain.then(
        () => task.reject(new FileReadError(response.code, response.message)),
        (error: unknown) => task.reject(error instanceof Error ? error : new AssertionError(String(error))),
      );
      return;
    }
    task.chain.then(
      () => task.resolve({ sizeBytes: response.sizeBytes, mtimeNs: BigInt(response.mtimeNs), ctimeNs: BigInt(response.ctimeNs) }),
      (error: unknown) => task.reject(error instanceof Error ? error : new AssertionError(String(error))),
    );
  }

  /** Chunks the file at path; onChunks is awaited per block, in order, before more is read. */
  chunkFile(path: Uint8Array, onChunks: (chunks: ChunkMessage[]) => Promise<void>): Promise<ChunkedFile> {
    if (this.failure !== null) return Promise.reject(this.failure);
    let worker = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[worker]!) worker = i;
    this.load[worker]!++;
    const taskId = this.nextTaskId++;
    return new Promise<ChunkedFile>((resolve, reject) => {
      this.tasks.set(taskId, { worker, onChunks, resolve, reject, chain: Promise.resolve() });
      this.workers[worker]!.postMessage({ type: "file", taskId, path } satisfies ChunkRequest);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
