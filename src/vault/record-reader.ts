/**
 * Reads and opens blob records for the vault. Reads asked for in the same turn of the event loop
 * are sorted by offset and merged into runs of adjacent records, each read with one pread; once a
 * session has read enough to be a bulk reader (restore, mount, cat of a big file), runs are opened
 * on worker threads, one per core, instead of on the main thread. A read may name an open target
 * file and position: the plaintext is then written there by the thread that opened it.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { VaultCorruptError } from "../errors/errors.ts";
import { StartedWorker, startWorker } from "../util/worker.ts";
import type { Codec } from "./compress.ts";
import type { RecordKindCode } from "./format.ts";
import { type WriteFailure, type Written, writeFailureError, writeOpened } from "./direct-write.ts";
import { BLOB_ID_SIZE_BYTES, type RecordProblem, type RunResult, openBlob } from "./open-record.ts";
import type { OpenReply, OpenRequest, OpenWorkerData, RecordSlot } from "./open-worker.ts";
import type { RecordKeys } from "./record.ts";
import type { VaultFile } from "./vault-file.ts";

/** A run stops growing here: big enough to make syscalls rare, small enough to keep both workers busy. */
const RUN_BYTES_MAX = 512 * 1024;
/** Records this close are read as one run, gap included (one syscall costs more than reading 16 KiB). */
const RUN_GAP_BYTES_MAX = 16 * 1024;
/** Runs read or being opened at once; more requests wait (and merge) until one is done. */
const RUNS_IN_FLIGHT_MAX = 6;
/**
 * Workers start once a session has read this much in runs they would open: short commands never
 * pay for them, nor do sessions of small records (a backup re-run reading tree parts), whose runs
 * the main thread opens anyway; the two isolates cost a moved-directories re-run 0.19 CPU-s and 20 MiB.
 */
const WORKERS_AFTER_BYTES = 4 * 1024 * 1024;
/**
 * A worker is started during the unlock (StartedOpenWorker) only for vaults this big: a smaller
 * one holds too few bytes for a restore to be worth an isolate (below WORKERS_AFTER_BYTES none starts).
 */
export const EARLY_WORKER_MIN_VAULT_BYTES = 4 * WORKERS_AFTER_BYTES;
/** A run this small is opened on the main thread: the message round trip would cost more. */
const MAIN_THREAD_RUN_BYTES_MAX = 16 * 1024;

/** A restore's first open worker, started during the unlock (see StartedWorker); RecordReader.adopt gives it its keys. */
export class StartedOpenWorker extends StartedWorker<OpenWorkerData> {
  constructor() {
    super("open-worker", import.meta.url);
  }
}

interface Request {
  readonly offset: number;
  readonly length: number;
  readonly id: Uint8Array;
  readonly kind: RecordKindCode;
  /** Target file for the plaintext (readTo), or -1. */
  readonly fd: number;
  readonly position: number;
  /** The plaintext, or for readTo the number of bytes written. */
  readonly resolve: (result: Uint8Array | number) => void;
  readonly reject: (error: unknown) => void;
}

interface PendingRun {
  readonly requests: readonly Request[];
  readonly worker: number;
}

export class RecordReader {
  private queue: Request[] = [];
  private scheduled = false;
  private runsInFlight = 0;
  /** Bytes read in runs too big for the main thread (MAIN_THREAD_RUN_BYTES_MAX). */
  private bulkBytesRead = 0;
  private workers: Worker[] | null = null;
  private readonly load: number[] = [];
  private readonly pending = new Map<number, PendingRun>();
  private nextRunId = 1;
  /** How many open workers a bulk reader runs (one per core); 0 until first asked. */
  private workerCount = 0;
  /** Set when a worker failed or the reader closed: everything is then opened on the main thread. */
  private workersOff = false;

  constructor(
    private readonly file: VaultFile,
    private readonly keys: RecordKeys,
    private readonly codec: Codec,
  ) {}

  /** The plaintext of the record at offset, which the index says holds blob id of this kind. */
  read(offset: number, length: number, id: Uint8Array, kind: RecordKindCode): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ offset, length, id, kind, fd: -1, position: 0, resolve: resolve as (result: Uint8Array | number) => void, reject });
      this.schedule();
    });
  }

  /**
   * Like read, but writes the plaintext at position of the open file fd (only once the record is
   * authenticated and decompressed) and resolves to its length. A failed write rejects with the
   * OS error (its code kept). The caller keeps fd open until this settles: a worker may write to it.
   */
  readTo(offset: number, length: number, id: Uint8Array, kind: RecordKindCode, fd: number, position: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ offset, length, id, kind, fd, position, resolve: resolve as (result: Uint8Array | number) => void, reject });
      this.schedule();
    });
  }

  /** While enough runs are in flight, requests wait and gather into longer runs. */
  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.runsInFlight >= RUNS_IN_FLIGHT_MAX) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private runDone(): void {
    this.runsInFlight--;
    this.schedule();
  }

  private flush(): void {
    this.scheduled = false;
    const requests = this.queue.sort((a, b) => a.offset - b.offset);
    this.queue = [];
    let run: Request[] = [];
    let runEnd = 0;
    for (const request of requests) {
      const end = request.offset + request.length;
      if (run.length > 0 && (request.offset > runEnd + RUN_GAP_BYTES_MAX || Math.max(runEnd, end) - run[0]!.offset > RUN_BYTES_MAX)) {
        void this.readRun(run, runEnd);
        run = [];
      }
      runEnd = run.length === 0 ? end : Math.max(runEnd, end);
      run.push(request);
    }
    if (run.length > 0) void this.readRun(run, runEnd);
  }

  private async readRun(run: readonly Request[], end: number): Promise<void> {
    this.runsInFlight++;
    try {
      const start = run[0]!.offset;
      const bytes = await this.file.readAt(start, end - start);
      if (bytes.byteLength > MAIN_THREAD_RUN_BYTES_MAX) this.bulkBytesRead += bytes.byteLength;
      const slots: RecordSlot[] = run.map((request) => {
        const at = request.offset - start;
        return { at, length: Math.max(0, Math.min(request.length, bytes.byteLength - at)), kind: request.kind, fd: request.fd, position: request.position };
      });
      const workers = bytes.byteLength > MAIN_THREAD_RUN_BYTES_MAX ? this.ensureWorkers() : null;
      if (workers !== null) {
        this.toWorker(workers, run, bytes, slots);
        return; // the reply (or a worker's failure) ends the run
      }
      run.forEach((request, i) => {
        const slot = slots[i]!;
        const raw = openBlob(this.keys, this.codec, bytes.subarray(slot.at, slot.at + slot.length), request.id, request.kind);
        settle(request, raw instanceof Uint8Array && request.fd >= 0 ? writeOpened(request.fd, request.position, raw) : raw);
      });
    } catch (error) {
      // A read error, or a bug: every request of the run fails rather than waiting forever.
      for (const request of run) request.reject(error);
    }
    this.runDone();
  }

  private toWorker(workers: Worker[], run: readonly Request[], bytes: Uint8Array, slots: RecordSlot[]): void {
    let worker = 0;
    for (let i = 1; i < workers.length; i++) if (this.load[i]! < this.load[worker]!) worker = i;
    const runId = this.nextRunId++;
    const ids = new Uint8Array(run.length * BLOB_ID_SIZE_BYTES);
    run.forEach((request, i) => ids.set(request.id, i * BLOB_ID_SIZE_BYTES));
    const request: OpenRequest = { runId, bytes, slots, ids };
    workers[worker]!.postMessage(request, [bytes.buffer as ArrayBuffer, ids.buffer]);
    this.load[worker]! += 1;
    this.pending.set(runId, { requests: run, worker });
  }

  /**
   * Takes a worker started during the unlock (a big restore's): it opens bulk runs from the first
   * one, since its start-up is already paid; the others still start after WORKERS_AFTER_BYTES.
   */
  adopt(started: StartedOpenWorker): void {
    if (this.workersOff || this.workers !== null) {
      void started.stop().catch(() => undefined);
      return;
    }
    this.workers = [];
    this.addWorker(started.begin({ recordKeys: this.keys }));
  }

  private ensureWorkers(): Worker[] | null {
    if (this.workersOff || this.bulkBytesRead < WORKERS_AFTER_BYTES) return this.workers;
    // Asked once: availableParallelism is a sched_getaffinity syscall, and this runs per bulk run (issue 5).
    this.workerCount ||= Math.max(1, availableParallelism());
    const count = this.workerCount;
    if (this.workers !== null && this.workers.length >= count) return this.workers;
    this.workers ??= [];
    const data: OpenWorkerData = { recordKeys: this.keys };
    while (this.workers.length < count) this.addWorker(startWorker("open-worker", import.meta.url, data));
    return this.workers;
  }

  private addWorker(worker: Worker): void {
    // An unclosed vault must not keep the process alive.
    worker.unref();
    worker.on("message", (reply: OpenReply) => this.receive(reply));
    worker.on("error", () => this.fail());
    worker.on("exit", () => this.fail());
    this.workers!.push(worker);
    this.load.push(0);
  }

  private receive(reply: OpenReply): void {
    const run = this.pending.get(reply.runId);
    if (run === undefined) return;
    this.pending.delete(reply.runId);
    this.load[run.worker]! -= 1;
    run.requests.forEach((request, i) => settle(request, reply.results[i]!));
    this.runDone();
  }

  /** A worker died: its runs are read again and opened on this thread, like every later run. */
  private fail(): void {
    if (this.workersOff) return;
    this.workersOff = true;
    const runs = [...this.pending.values()];
    this.pending.clear();
    const workers = this.workers ?? [];
    this.workers = null;
    // Retried once every worker has stopped: none may still be writing a readTo's bytes then.
    void Promise.allSettled(workers.map((worker) => worker.terminate())).then(() => {
      for (const run of runs) {
        this.queue.push(...run.requests);
        this.runDone();
      }
    });
  }

  async close(): Promise<void> {
    const workers = this.workers ?? [];
    this.workersOff = true;
    this.workers = null;
    const pending = [...this.pending.values()];
    const queued = this.queue;
    this.pending.clear();
    this.queue = [];
    // The workers stop first: a readTo's caller closes its fd once the read settles, and no worker
    // may still be writing to that fd (or to a file that reuses its number) by then.
    await Promise.all(workers.map((worker) => worker.terminate()));
    const closed = new Error("vault closed while reading");
    for (const run of pending) for (const request of run.requests) request.reject(closed);
    for (const request of queued) request.reject(closed);
  }
}

function settle(request: Request, result: RunResult): void {
  if (result instanceof Uint8Array) request.resolve(result);
  else if ("written" in result) request.resolve((result as Written).written);
  else if ("writeError" in result) request.reject(writeFailureError(result as WriteFailure));
  else {
    const problem = result as RecordProblem;
    request.reject(new VaultCorruptError(request.offset, problem.problem, problem.cause === undefined ? undefined : { cause: new Error(problem.cause) }));
  }
}

