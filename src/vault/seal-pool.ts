/**
 * A pool of seal workers, one per core. Blobs go to the worker with the fewest tasks; the caller
 * bounds how many are in flight (backup does, by bytes).
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { AssertionError } from "../util/assert.ts";
import { startWorker } from "../util/worker-url.ts";
import type { RecordKindCode } from "./format.ts";
import type { SealedBlob } from "./seal.ts";
import type { SealRequest, SealResponse, SealWorkerData } from "./seal-worker.ts";

interface Pending {
  readonly resolve: (sealed: SealedBlob) => void;
  readonly reject: (error: Error) => void;
  readonly worker: number;
}

export class SealPool {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextTaskId = 1;
  private failure: Error | null = null;

  constructor(data: SealWorkerData, workerCount = availableParallelism()) {
    for (let i = 0; i < Math.max(1, workerCount); i++) {
      const worker = startWorker("seal-worker", import.meta.url, data);
      worker.on("message", (response: SealResponse) => this.settle(response));
      worker.on("error", (error) => this.fail(error));
      this.workers.push(worker);
      this.load.push(0);
    }
  }

  private fail(error: Error): void {
    this.failure = error;
    for (const task of this.pending.values()) task.reject(error);
    this.pending.clear();
  }

  private settle(response: SealResponse): void {
    const task = this.pending.get(response.taskId);
    if (task === undefined) return;
    this.pending.delete(response.taskId);
    this.load[task.worker]!--;
    if (response.error !== undefined || response.record === undefined || response.rawLength === undefined) {
      task.reject(new AssertionError(`seal worker failed: ${response.error ?? "no record"}`));
      return;
    }
    task.resolve({ record: response.record, rawLength: response.rawLength });
  }

  /** Seals raw into a record on a worker; raw's buffer is transferred when it owns all of it. */
  seal(kind: RecordKindCode, id: Uint8Array, raw: Uint8Array): Promise<SealedBlob> {
    if (this.failure !== null) return Promise.reject(this.failure);
    let worker = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[worker]!) worker = i;
    const taskId = this.nextTaskId++;
    this.load[worker]!++;
    const request: SealRequest = { taskId, kind, id, raw };
    const ownsBuffer = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength && raw.buffer instanceof ArrayBuffer;
    return new Promise<SealedBlob>((resolve, reject) => {
      this.pending.set(taskId, { resolve, reject, worker });
      this.workers[worker]!.postMessage(request, ownsBuffer ? [raw.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
