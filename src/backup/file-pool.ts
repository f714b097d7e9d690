/**
 * Main-thread side of the file workers: hands out files, answers "which chunks are new?", passes
 * sealed records to the store, and batches its replies per turn of the event loop.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { AssertionError } from "../util/assert.ts";
import { StartedWorker, startWorker } from "../util/worker.ts";
import { type EntryError, NodeSourceFs } from "../fs/node-source-fs.ts";
import type { ChunkInfo, FileWorkerData, FromWorker, SealedChunk, SegmentCut, ToWorker } from "./file-worker.ts";
import { AccountBytes, type ListingToMatch, matchParent, type ParentMatch } from "./unchanged.ts";
import { type Listing, type PackedListing, unpackListing, unpackSubtrees } from "./listing-codec.ts";
import { unpackWholes, type WholeFile } from "./whole-codec.ts";
import { movable } from "./shared-bytes.ts";

/** A listing; match (its entries joined with the parent's, matchParent) when the parent's parts were given and scanned. */
export type PoolListing = Listing & { readonly match: ParentMatch | null };

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

export interface FileHooks {
  /** The file's next chunks, in order; resolves to which of them the worker must seal and send. */
  readonly onChunks: (chunks: readonly ChunkInfo[]) => Promise<boolean[]>;
  /** Sealed records of the chunks asked for. */
  readonly onSealed: (sealed: readonly SealedChunk[]) => Promise<void>;
  /**
   * Optional: a small file's chunks and their records (the worker sealed it whole) claimed and
   * stored in one synchronous step. false: not now (the bytes bound is taken), onChunks and
   * onSealed do it instead; a promise: stored, and the file ends once the store's writes catch up.
   */
  readonly onWhole?: (file: WholeFile) => boolean | Promise<void>;
}

interface Task {
  readonly worker: number;
  readonly hooks: FileHooks;
  readonly resolve: (result: ChunkedFile) => void;
  readonly reject: (error: Error) => void;
  /**
   * A file's "ids" are handled in order on their own chain, its other messages in order on this one:
   * a worker asks about its next blocks before the records of earlier ones are stored, and those
   * records free the bytes budget an "ids" may be waiting for (one chain would deadlock).
   */
  chain: Promise<void>;
  claims: Promise<void>;
  /** Chunks asked for and not yet delivered; a file must not end with any outstanding. */
  outstanding: number;
  /** This block's chunks handed to another worker to seal; its "records" wait for them. */
  offloaded: Promise<readonly SealedChunk[]> | null;
}

/** A task's chains start here: one settled promise for all, not two per file (issue 5). */
const SETTLED: Promise<void> = Promise.resolve();

/** Listings that took the worker over LISTING_SLOW_MS (file-worker.ts) before the other workers start. */
const SLOW_LISTINGS_MAX = 4;
/**
 * Files and listings waiting on the first worker before a file starts the others. A file waits
 * until the main thread takes its result, so a re-run's few changed files pile up while the walk
 * runs (1% of usr, 194 files: 31–64 at most on one worker), yet one worker reads them in time; an
 * isolate's start (~0.15 CPU-s, ~12 MiB) would cost more than it saves. A first backup queues
 * this many within its first directories (FILES_IN_FLIGHT_MAX is 256), and a big file starts the
 * others anyway when it hands out a segment.
 */
const QUEUED_BEFORE_OTHERS = 128;

/**
 * A copy with its own buffer: a small Buffer is a view into Node's shared 8 KiB pool, and
 * postMessage would copy the whole pool for each path.
 */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

function segmentTransfer(cut: SegmentCut): ArrayBuffer[] {
  return "code" in cut ? [] : movable([cut.window.buffer, cut.lengths.buffer, cut.ids.buffer, cut.holes.buffer]);
}

/** The backup's first file worker, started during the unlock (see StartedWorker). */
export class StartedFileWorker extends StartedWorker<FileWorkerData> {
  constructor() {
    super("file-worker", import.meta.url);
  }
}

export class FilePool {
  private readonly data: FileWorkerData;
  /** User and group names for comparing listings made on this thread (prelist.ts) with the parent. */
  private readonly accounts = new AccountBytes(new NodeSourceFs());
  private readonly workers: Worker[] = [];
  /** Listings the worker found slow (SLOW_LISTINGS_MAX of them start every worker). */
  private slowListings = 0;
  private readonly load: number[] = [];
  private readonly outboxes: ToWorker[][] = [];
  private readonly transfers: ArrayBuffer[][] = [];
  /** Files handed to each worker this turn: they travel as one "files" message (paths in one buffer). */
  private readonly newFiles: { fileIds: number[]; paths: Uint8Array[] }[] = [];
  private readonly tasks = new Map<number, Task>();
  private nextFileId = 1;
  private readonly listings = new Map<number, { resolve: (listing: PoolListing | { error: EntryError }) => void; reject: (error: Error) => void }>();
  private failure: Error | null = null;
  /** Offloaded sealing jobs by ID: the file they belong to and what to do when they come back. */
  private readonly sealJobs = new Map<number, (sealed: readonly SealedChunk[]) => void>();
  private nextSealId = 1;
  /** Segments being cut for another worker's big file, by the pool's job ID: whose, and its own job ID. */
  private readonly segmentJobs = new Map<number, { readonly worker: number; readonly jobId: number }>();
  private nextSegmentJob = 1;
  private flushScheduled = false;
  private closing = false;

  /** started: a worker started ahead (during the unlock) to be the first, instead of starting one now. */
  constructor(data: FileWorkerData, workerCount = availableParallelism(), started?: StartedFileWorker) {
    this.data = { ...data, workerCount: Math.max(1, workerCount) };
    // One worker lists directories and reads the first files; the others start once files queue on
    // it, or once listings wait for the disk: a no-change or 1% re-run (warm) runs one isolate fewer.
    this.addWorker(started);
  }

  private addWorker(started?: StartedFileWorker): void {
    const i = this.workers.length;
    const worker = started !== undefined ? started.begin(this.data) : startWorker("file-worker", import.meta.url, this.data);
    worker.ref(); // one started ahead was unref'd while it waited
    worker.on("message", (batch: FromWorker[]) => {
      for (const message of batch) this.receive(i, message);
    });
    worker.on("error", (error) => this.fail(error));
    worker.on("exit", (code) => this.fail(new AssertionError(`file worker exited (code ${code}) with work pending`)));
    this.workers.push(worker);
    this.load.push(0);
    this.outboxes.push([]);
    this.transfers.push([]);
    this.newFiles.push({ fileIds: [], paths: [] });
  }

  /** Every worker running: files are to be read, or listings are slow (a cold disk: two list at once). */
  private startAll(): void {
    while (this.workers.length < this.data.workerCount! && this.failure === null && !this.closing) this.addWorker();
  }

  /**
   * Fatal: every pending file and listing is rejected, and so is all later work. A worker waits
   * for each "need" answer, so once one answer is lost (a hook threw: cancel, ENOSPC) files queued
   * on that worker would never finish: rejecting only the failing file would hang the backup.
   */
  private fail(error: Error): void {
    if (this.closing) return;
    this.failure ??= error;
    for (const task of this.tasks.values()) task.reject(error);
    this.tasks.clear();
    for (const listing of this.listings.values()) listing.reject(error);
    this.listings.clear();
  }

  private send(worker: number, message: ToWorker, transfer: readonly ArrayBuffer[] = []): void {
    this.outboxes[worker]!.push(message);
    this.transfers[worker]!.push(...transfer);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (let i = 0; i < this.workers.length; i++) {
        this.packNewFiles(i);
        const batch = this.outboxes[i]!;
        if (batch.length === 0) continue;
        const transfer = this.transfers[i]!;
        this.outboxes[i] = [];
        this.transfers[i] = [];
        this.workers[i]!.postMessage(batch, transfer);
      }
    });
  }

  /** The worker's files of this turn as one "files" message at the end of its outbox. */
  private packNewFiles(worker: number): void {
    const { fileIds, paths } = this.newFiles[worker]!;
    if (fileIds.length === 0) return;
    let bytes = 0;
    for (const path of paths) bytes += path.byteLength;
    const packed = new Uint8Array(bytes);
    const pathEnds = new Uint32Array(paths.length);
    let at = 0;
    for (let i = 0; i < paths.length; i++) {
      packed.set(paths[i]!, at);
      at += paths[i]!.byteLength;
      pathEnds[i] = at;
    }
    const ids = Float64Array.from(fileIds);
    this.newFiles[worker] = { fileIds: [], paths: [] };
    this.outboxes[worker]!.push({ type: "files", fileIds: ids, paths: packed, pathEnds });
    this.transfers[worker]!.push(ids.buffer, packed.buffer, pathEnds.buffer);
  }

  private receive(worker: number, message: FromWorker | WholeFile): void {
    if (message.type === "wholes") {
      for (const whole of unpackWholes(message.packed)) this.receive(worker, whole);
      return;
    }
    if (message.type === "listing") {
      if (message.slow && ++this.slowListings >= SLOW_LISTINGS_MAX) this.startAll();
      const pending = this.listings.get(message.listId);
      this.listings.delete(message.listId);
      this.load[worker]!--;
      pending?.resolve(
        "error" in message
          ? { error: message.error }
          : { ...unpackListing(message.packed), match: message.match === null ? null : { ...message.match, subtrees: unpackSubtrees(message.match.subtrees) } },
      );
      return;
    }
    if (message.type === "sealed") {
      // Not on the file's chain: that chain is waiting for this very message.
      const deliver = this.sealJobs.get(message.sealId);
      this.sealJobs.delete(message.sealId);
      deliver?.(message.sealed);
      return;
    }
    if (message.type === "cutSegment") {
      // Another worker cuts it while this one cuts its own stretch of the file (issue 5).
      const jobId = this.nextSegmentJob++;
      this.segmentJobs.set(jobId, { worker, jobId: message.jobId });
      this.send(this.leastLoaded(worker), { ...message, jobId }, movable([message.window.buffer]));
      return;
    }
    if (message.type === "segmentCut") {
      const job = this.segmentJobs.get(message.jobId);
      this.segmentJobs.delete(message.jobId);
      if (job !== undefined) this.send(job.worker, { type: "segmentCut", jobId: job.jobId, cut: message.cut }, segmentTransfer(message.cut));
      return;
    }
    const task = this.tasks.get(message.fileId);
    if (task === undefined) return;
    // One handler per kind, each seeing one message shape: one handler for all six kinds was
    // deoptimized on wrong maps 3-4 times per usr first backup (issue 5, PERFORMANCE.md).
    if (message.type === "ids") {
      task.claims = this.guard(task.claims.then(() => this.handleIds(worker, task, message)));
      return;
    }
    let handled: Promise<void>;
    switch (message.type) {
      case "offload":
        handled = task.chain.then(() => this.handleOffload(worker, task, message));
        break;
      case "records":
        handled = task.chain.then(() => this.handleRecords(task, message));
        break;
      case "whole":
        this.receiveWhole(task, message);
        return;
      case "done":
      case "error":
        handled = task.chain.then(() => this.handleEnd(task, message));
        break;
      default:
        return;
    }
    task.chain = this.guard(handled);
  }

  /** A failed handler fails the pool; the chain keeps the rejected promise (nothing runs after it). */
  private guard(handled: Promise<void>): Promise<void> {
    handled.catch(this.handlerFailed);
    return handled;
  }

  /** Bound once: guard() runs for every message. */
  private readonly handlerFailed = (error: unknown): void => this.fail(error instanceof Error ? error : new AssertionError(String(error)));

  private async handleIds(worker: number, task: Task, message: Extract<FromWorker, { type: "ids" }>): Promise<void> {
    const need = await task.hooks.onChunks(message.chunks);
    task.outstanding += need.filter(Boolean).length;
    this.send(worker, { type: "need", fileId: message.fileId, need });
  }

  private handleOffload(worker: number, task: Task, message: Extract<FromWorker, { type: "offload" }>): void {
    const sealId = this.nextSealId++;
    const { releaseId } = message;
    task.offloaded = new Promise((resolve) =>
      this.sealJobs.set(sealId, (sealed) => {
        // Sealed from the owner's shared buffer: the owner may read into it again.
        if (releaseId !== undefined) this.send(worker, { type: "released", releaseId });
        resolve(sealed);
      }),
    );
    // The pieces are views of one buffer (file-worker.ts packPieces): moved once; or of the
    // owner's shared memory (shared-bytes.ts): not moved at all.
    const buffers = movable([...new Set(message.pieces.map((piece) => piece.buffer))]);
    this.send(this.leastLoaded(worker), { type: "seal", sealId, ids: message.ids, pieces: message.pieces }, buffers);
  }

  private async handleRecords(task: Task, message: Extract<FromWorker, { type: "records" }>): Promise<void> {
    // A block's records reach the hooks in one call, its offloaded half included.
    const offloaded = task.offloaded === null ? [] : await task.offloaded;
    task.offloaded = null;
    const sealed = offloaded.length === 0 ? message.sealed : [...message.sealed, ...offloaded];
    task.outstanding -= sealed.length;
    await task.hooks.onSealed(sealed);
  }

  /**
   * A small file's one message: nothing of its file is queued before it, so no chain to wait on.
   * Mostly stored and ended in this call: no async step, promise or await per file (issue 5).
   */
  private receiveWhole(task: Task, message: WholeFile): void {
    let stored: boolean | Promise<void>;
    try {
      stored = task.hooks.onWhole?.(message) ?? false;
    } catch (error) {
      this.handlerFailed(error);
      return;
    }
    if (stored === true) {
      this.endWhole(task, message);
      return;
    }
    task.chain = this.guard(stored === false ? this.handleWhole(task, message) : stored.then(() => this.endWhole(task, message)));
  }

  private endWhole(task: Task, message: WholeFile): void {
    this.finish(task, message.fileId);
    task.resolve(message); // its size and times: no copy of them per file
  }

  private async handleWhole(task: Task, message: WholeFile): Promise<void> {
    const need = await task.hooks.onChunks(message.chunks);
    const { sealed } = message;
    const wanted: SealedChunk[] = [];
    for (let i = 0; i < sealed.length; i++) if (need[i] === true && sealed[i] !== null) wanted.push(sealed[i]!);
    await task.hooks.onSealed(wanted);
    this.endWhole(task, message);
  }

  private async handleEnd(task: Task, message: Extract<FromWorker, { type: "done" | "error" }>): Promise<void> {
    // The worker ends a file only after every answer it asked for: its "ids" are all handled.
    await task.claims;
    this.finish(task, message.fileId);
    if (task.outstanding !== 0) {
      // Claimed chunks that never arrive would leave other files pointing at nothing: a bug, fatal.
      const error = new AssertionError(`file worker ended a file with ${task.outstanding} chunk(s) undelivered`);
      task.reject(error); // finish() took it out of the tasks that fail() rejects
      this.fail(error);
      throw error;
    }
    if (message.type === "error") task.reject(new FileReadError(message.code, message.message));
    else task.resolve({ sizeBytes: message.sizeBytes, mtimeNs: BigInt(message.mtimeNs), ctimeNs: BigInt(message.ctimeNs) });
  }

  private finish(task: Task, fileId: number): void {
    this.tasks.delete(fileId);
    this.load[task.worker]!--;
  }

  /**
   * A directory's entries (byte order) with their lstat, read on a worker; or why it could not be
   * read. With parent (the plaintext tree parts of the directory in the parent snapshot) the worker
   * also tells whether every entry is unchanged. listed: the directory listed already (prelist.ts).
   */
  listDirectory(path: Uint8Array, parent: Uint8Array[] | null = null, listed: PackedListing | null = null): Promise<PoolListing | { error: EntryError }> {
    if (this.failure !== null) return Promise.reject(this.failure);
    // Listed already: compared here, so the walk never waits for a worker (nor for its start).
    if (listed !== null) {
      const listing = unpackListing(listed);
      return Promise.resolve({ ...listing, match: parent === null ? null : matchParent(this.accounts, listing, parent) });
    }
    const worker = this.leastLoaded(-1, false);
    this.load[worker]!++;
    const listId = this.nextFileId++;
    return new Promise<PoolListing | { error: EntryError }>((resolve, reject) => {
      this.listings.set(listId, { resolve, reject });
      // The parent's parts are copied and the copies moved (the caller keeps its own).
      const parts = parent === null ? null : parent.map((part) => new Uint8Array(part));
      this.send(worker, { type: "list", listId, path: ownBytes(path), parent: parts }, parts === null ? [] : parts.map((part) => part.buffer as ArrayBuffer));
    });
  }

  /** A listing joined with the parent's parts here (a directory found moved after a worker listed it as new). */
  matchListing(listing: ListingToMatch, parent: readonly Uint8Array[]): ParentMatch | null {
    return matchParent(this.accounts, listing, parent);
  }

  /**
   * The worker with the fewest files and listings (other than `except`, when there is another);
   * with `all`, every worker is started first.
   */
  private leastLoaded(except = -1, all = true): number {
    if (all) this.startAll();
    let worker = except === 0 && this.workers.length > 1 ? 1 : 0;
    for (let i = 0; i < this.workers.length; i++) if (i !== except && this.load[i]! < this.load[worker]!) worker = i;
    return worker;
  }

  /** Backs up one file's content; resolves with its size and times as read. */
  backupFile(path: Uint8Array, hooks: FileHooks): Promise<ChunkedFile> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const worker = this.leastLoaded(-1, this.load[0]! >= QUEUED_BEFORE_OTHERS);
    this.load[worker]!++;
    const fileId = this.nextFileId++;
    return new Promise<ChunkedFile>((resolve, reject) => {
      this.tasks.set(fileId, { worker, hooks, resolve, reject, chain: SETTLED, claims: SETTLED, outstanding: 0, offloaded: null });
      // Copied into one buffer with the other paths of this turn (packNewFiles).
      const files = this.newFiles[worker]!;
      files.fileIds.push(fileId);
      files.paths.push(path);
      this.scheduleFlush();
    });
  }

  async close(): Promise<void> {
    if (this.tasks.size > 0 || this.listings.size > 0) this.fail(new AssertionError("file pool closed with work pending"));
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
