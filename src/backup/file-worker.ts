/**
 * Worker thread of the backup: reads files (many at once, on the libuv pool when the disk is slow), cuts
 * them into chunks (keyed FastCDC), names each chunk (keyed BLAKE3), asks the main thread which
 * chunks are new, and compresses and encrypts only those into records (vault/seal.ts). Data is
 * read, sealed and transferred once; the main thread only decides and appends.
 *
 * Protocol per block of a file: → "ids" (chunk IDs and sizes), ← "need" (which to send),
 * → "records"; the next blocks are asked about before earlier answers arrive, and answers come in
 * order. A file ends with "done" (size and times after reading) or "error". Messages are
 * sent in batches, one per turn of the event loop, so many small files cost few messages.
 * A big file's segments are also cut by another worker ("cutSegment" → "segmentCut", readSegmented).
 */
import { type BigIntStats, closeSync, constants, fstatSync, openSync, read, readSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { Chunker, gearTableFromKey } from "../chunker/cdc.ts";
import type { ChunkerParams } from "../chunker/params.ts";
import { joinSegment, segmentLengths } from "../chunker/segments.ts";
import { BLOB_ID_SIZE_BYTES } from "../core/ids.ts";
import { blobIdHasher } from "../crypto/blob-id.ts";
import { entryError, type EntryError, listDirectorySync, NodeSourceFs } from "../fs/node-source-fs.ts";
import { assert } from "../util/assert.ts";
import { BLOCK_BUFFERS_PER_WORKER_MAX, BLOCKS_IN_FLIGHT_PER_FILE_MAX, CHUNK_READ_BLOCK_BYTES, FILE_HEAD_BYTES, FILES_PER_WORKER_MAX } from "../util/limits.ts";
// The segmented path's bounds, imported apart (issue 5).
import { SEGMENT_BYTES, SEGMENTED_FILES_PER_WORKER_MAX, SEGMENTS_AHEAD_PER_FILE_MAX } from "../util/limits.ts";
import { systemRandom } from "../util/random.ts";
import { awaitWorkerData, type DeferredWorkerData } from "../util/worker.ts";
import { Codec } from "../vault/compress.ts";
import { RecordKind } from "../vault/format.ts";
import type { RecordKeys } from "../vault/record.ts";
import { sealBlobInto, sealBlobRun } from "../vault/seal.ts";
import { packListing, type PackedListing, type PackedSubtrees, packSubtrees, transferables } from "./listing-codec.ts";
import { allShared, blockBytes, copyBytes, movable } from "./shared-bytes.ts";
import { AccountBytes, matchParent, type ParentMatch } from "./unchanged.ts";
import { type PackedWholes, WholePacker } from "./whole-codec.ts";

export interface FileWorkerData {
  readonly chunkerKey: Uint8Array;
  readonly blobIdKey: Uint8Array;
  readonly params: ChunkerParams;
  readonly recordKeys: RecordKeys;
  readonly compressionLevel: number;
  /** How many file workers the pool runs (set by FilePool): with more than one, big blocks share their sealing. */
  readonly workerCount?: number;
  /** Segment size for cutting one big file on two workers (SEGMENT_BYTES unless a test sets it). */
  readonly segmentBytes?: number;
}

/**
 * Another worker's speculative cut of a segment of a file (chunker/segments.ts): the bytes it read
 * (window, from the segment's start), the chunk lengths, their IDs (BLOB_ID_SIZE_BYTES each) and
 * holes (1: a run of zeros, no ID); or why reading failed.
 */
export type SegmentCut =
  | { readonly window: Uint8Array; readonly eof: boolean; readonly lengths: Uint32Array; readonly ids: Uint8Array; readonly holes: Uint8Array }
  | { readonly code: string; readonly message: string };

/**
 * A request to cut a segment of an open file (the fd is shared: worker threads are one process).
 * window: the owner's buffer to read it into (segmentBytes + max), moved there and back, so a file's
 * windows are reused instead of left to the garbage collector.
 */
export interface CutSegmentRequest {
  readonly type: "cutSegment";
  readonly jobId: number;
  readonly fd: number;
  readonly start: number;
  readonly segmentBytes: number;
  readonly window: Uint8Array;
}

export type ToWorker =
  /** Files to back up: paths[pathEnds[i - 1] ?? 0, pathEnds[i]) is the path of fileIds[i] (one buffer, not one per file). */
  | { readonly type: "files"; readonly fileIds: Float64Array; readonly paths: Uint8Array; readonly pathEnds: Uint32Array }
  /** parent: the plaintext tree parts of the directory in the parent snapshot, to compare the listing with. */
  | { readonly type: "list"; readonly listId: number; readonly path: Uint8Array; readonly parent: Uint8Array[] | null }
  | { readonly type: "need"; readonly fileId: number; readonly need: readonly boolean[] }
  /** Chunks another worker read, to seal here (so one big file keeps every core busy). */
  | { readonly type: "seal"; readonly sealId: number; readonly ids: Uint8Array[]; readonly pieces: Uint8Array[] }
  /** An offload with a releaseId (its pieces are views of this worker's shared buffer) is sealed: the buffer may be reused. */
  | { readonly type: "released"; readonly releaseId: number }
  /** A segment of another worker's file to cut (the pool's jobId), and that cut coming back to the owner (its own jobId). */
  | CutSegmentRequest
  | { readonly type: "segmentCut"; readonly jobId: number; readonly cut: SegmentCut };

/** A chunk of a file: id null marks a run of zeros (a hole), never stored. */
export interface ChunkInfo {
  readonly id: Uint8Array | null;
  readonly sizeBytes: number;
}

export interface SealedChunk {
  readonly id: Uint8Array;
  readonly record: Uint8Array;
  readonly rawLength: number;
}

/**
 * A directory's entries in byte order with the lstat of each, or why the directory could not be
 * read. match is set when the parent's parts were given and scanned (matchParent), with the
 * subtrees of the directories found the same packed.
 */
export type ListingMessage = { readonly type: "listing"; readonly listId: number; readonly slow: boolean } & (
  | { readonly packed: PackedListing; readonly match: (Omit<ParentMatch, "subtrees"> & { readonly subtrees: PackedSubtrees }) | null }
  | { readonly error: EntryError }
);

export type FromWorker =
  | ListingMessage
  | { readonly type: "ids"; readonly fileId: number; readonly chunks: ChunkInfo[] }
  | { readonly type: "records"; readonly fileId: number; readonly sealed: SealedChunk[] }
  | { readonly type: "done"; readonly fileId: number; readonly sizeBytes: number; readonly mtimeNs: string; readonly ctimeNs: string }
  /** Small files, each with every chunk already sealed (whole-codec.ts); the main thread keeps the new ones. */
  | { readonly type: "wholes"; readonly packed: PackedWholes }
  | { readonly type: "error"; readonly fileId: number; readonly code: string; readonly message: string }
  /**
   * Needed chunks of a file's block handed to another worker to seal (sent before this block's
   * "records"). releaseId: the pieces are views of shared memory this worker reuses once told "released".
   */
  | { readonly type: "offload"; readonly fileId: number; readonly ids: Uint8Array[]; readonly pieces: Uint8Array[]; readonly releaseId?: number }
  | { readonly type: "sealed"; readonly sealId: number; readonly sealed: SealedChunk[] }
  /** A segment of this worker's big file for another worker to cut; and, from that worker, its cut. */
  | CutSegmentRequest
  | { readonly type: "segmentCut"; readonly jobId: number; readonly cut: SegmentCut };

const port = parentPort;
assert(port !== null, "file-worker must run as a worker thread");
const data = awaitWorkerData<FileWorkerData>(workerData as FileWorkerData | DeferredWorkerData);
const chunker = new Chunker(data.params, gearTableFromKey(data.chunkerKey));
const hashBlobId = blobIdHasher(data.blobIdKey);
const codec = new Codec(data.compressionLevel);
const zeros = new Uint8Array(data.params.maxSizeBytes);
const spareBuffers: Uint8Array[] = [];
const spareHeads: Uint8Array[] = [];
/** Per file, the blocks whose "need" answer is awaited, oldest first (answers come in order). */
const waitingForNeed = new Map<number, ((need: readonly boolean[]) => void)[]>();
const queue: { fileId: number; path: Uint8Array }[] = [];
let running = 0;

let outbox: FromWorker[] = [];
let outboxTransfer: ArrayBuffer[] = [];
let flushScheduled = false;

/** Small files sealed since the last flush: they travel packed, in one message. */
const wholes = new WholePacker();
/** Packed records past this are sent without waiting for the turn to end (bounds the packer's buffer). */
const WHOLES_FLUSH_BYTES = 1024 * 1024;

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  outbox.push(message);
  outboxTransfer.push(...transfer);
  scheduleFlush();
}

function scheduleFlush(): void {
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function flush(): void {
  flushScheduled = false;
  const packed = wholes.take();
  if (packed !== null) {
    outbox.push({ type: "wholes", packed: packed.packed });
    outboxTransfer.push(...packed.transfer);
  }
  if (outbox.length === 0) return;
  const batch = outbox;
  const transferList = outboxTransfer;
  outbox = [];
  outboxTransfer = [];
  port!.postMessage(batch, transferList);
}

function isZero(bytes: Uint8Array): boolean {
  return Buffer.compare(bytes, zeros.subarray(0, bytes.byteLength)) === 0;
}

/** Block buffers and segment windows are shared memory when another worker may seal from them (shared-bytes.ts). */
const sharing = (data.workerCount ?? 1) > 1;

/** A block needing at least this many chunks sealed gives part of them to another worker. */
const OFFLOAD_CHUNKS_MIN = 8;

/** What sealing costs on this worker, in ns per raw byte (a moving average; 0 until measured). */
let sealNsPerByte = 0;
/** This worker's busy time (event loop active) and sealing time at the last offload decision. */
let activeMsAtDecision = performance.eventLoopUtilization().active;
let sealNsSinceDecision = 0;

/** Time this worker spent on anything but sealing (reading, cutting, naming, messages) since the last call. */
function otherWorkNs(): number {
  const active = performance.eventLoopUtilization().active;
  const ns = (active - activeMsAtDecision) * 1e6 - sealNsSinceDecision;
  activeMsAtDecision = active;
  sealNsSinceDecision = 0;
  return Math.max(0, ns);
}

/**
 * How many of a block's wanted chunks (in order) to seal here, the rest going to another worker:
 * this worker also read, cut and named the block (otherNs), so it keeps less than half, to finish
 * its part when the other does (issue 5: one big file kept the other worker a third idle).
 */
function chunksToKeep(wanted: readonly { piece: Uint8Array }[], otherNs: number): number {
  const wantedBytes = wanted.reduce((sum, want) => sum + want.piece.byteLength, 0);
  const keepBytes = sealNsPerByte === 0 ? wantedBytes / 2 : wantedBytes / 2 - otherNs / (2 * sealNsPerByte);
  let keep = 0;
  for (let bytes = 0; keep < wanted.length && bytes + wanted[keep]!.piece.byteLength / 2 <= keepBytes; keep++) bytes += wanted[keep]!.piece.byteLength;
  return keep;
}

function chunkInfo(piece: Uint8Array): ChunkInfo {
  return isZero(piece) ? { id: null, sizeBytes: piece.byteLength } : { id: hashBlobId(piece), sizeBytes: piece.byteLength };
}

/** chunks: the pieces' IDs when already known (named by the worker that cut them). */
async function sendBlock(fileId: number, pieces: Uint8Array[], chunks: ChunkInfo[] = pieces.map(chunkInfo)): Promise<void> {
  const needed = new Promise<readonly boolean[]>((resolve) => {
    const waiting = waitingForNeed.get(fileId);
    if (waiting === undefined) waitingForNeed.set(fileId, [resolve]);
    else waiting.push(resolve);
  });
  send({ type: "ids", fileId, chunks });
  const need = await needed;
  const wanted = chunks.flatMap((chunk, i) => (need[i] === true && chunk.id !== null ? [{ id: chunk.id, piece: pieces[i]! }] : []));
  let keep = wanted.length;
  let released: Promise<void> | null = null;
  if ((data.workerCount ?? 1) > 1 && wanted.length >= OFFLOAD_CHUNKS_MIN) {
    // A file cut with help: the other worker reads, cuts and names as much as this one, so half.
    const otherNs = otherWorkNs();
    keep = chunksToKeep(wanted, segmentedFiles > 0 ? 0 : otherNs);
    const given = wanted.slice(keep);
    const ids = given.map((want) => want.id);
    const pieces = given.map((want) => want.piece);
    if (allShared(pieces)) {
      // Views of shared memory: no copy; the block (and so its buffer) is done once they are sealed.
      const releaseId = nextReleaseId++;
      released = new Promise<void>((resolve) => releases.set(releaseId, resolve));
      send({ type: "offload", fileId, ids, pieces, releaseId });
    } else {
      // Copied (the pieces are views of the block's buffer, which is reused once the block is sent)
      // into one buffer: one allocation and one transfer, not one per piece.
      const { buffer, pieces: offloaded } = packPieces(pieces);
      send({ type: "offload", fileId, ids, pieces: offloaded }, [buffer.buffer as ArrayBuffer]);
    }
  }
  const { sealed, transfer } = sealAll(wanted.slice(0, keep).map((want) => want.id), wanted.slice(0, keep).map((want) => want.piece));
  send({ type: "records", fileId, sealed }, transfer);
  if (released !== null) await released;
}

/** Offloads whose pieces are views of this worker's shared buffers, by releaseId: resolved on "released". */
const releases = new Map<number, () => void>();
let nextReleaseId = 1;

/** Copies of pieces, as views of one new buffer (transferable). */
function packPieces(pieces: readonly Uint8Array[]): { buffer: Uint8Array; pieces: Uint8Array[] } {
  let bytes = 0;
  for (const piece of pieces) bytes += piece.byteLength;
  const buffer = new Uint8Array(Buffer.allocUnsafeSlow(bytes).buffer);
  const packed: Uint8Array[] = [];
  let at = 0;
  for (const piece of pieces) {
    buffer.set(piece, at);
    packed.push(buffer.subarray(at, at + piece.byteLength));
    at += piece.byteLength;
  }
  return { buffer, pieces: packed };
}

/** Seals the chunks into one buffer of records (one transfer; the vault writes it as one run). */
function sealAll(ids: readonly Uint8Array[], pieces: readonly Uint8Array[]): { sealed: SealedChunk[]; transfer: ArrayBuffer[] } {
  if (ids.length === 0) return { sealed: [], transfer: [] };
  const start = process.hrtime.bigint();
  const run = sealBlobRun(data.recordKeys, systemRandom, codec, RecordKind.data, ids, pieces);
  const sealed: SealedChunk[] = [];
  let rawBytes = 0;
  for (let i = 0; i < ids.length; i++) {
    sealed.push({ id: ids[i]!, record: run.records[i]!, rawLength: pieces[i]!.byteLength });
    rawBytes += pieces[i]!.byteLength;
  }
  const transfer = [run.buffer.buffer as ArrayBuffer];
  const ns = Number(process.hrtime.bigint() - start);
  sealNsSinceDecision += ns;
  if (rawBytes >= 64 * 1024) sealNsPerByte = sealNsPerByte === 0 ? ns / rawBytes : 0.75 * sealNsPerByte + 0.25 * (ns / rawBytes);
  return { sealed, transfer };
}

/** Files up to this size are sealed without asking first (their chunks are mostly new, and small). */
const SPECULATIVE_SEAL_MAX_BYTES = 256 * 1024;

/** Seals a small file's pieces into the packer (they may be views of a buffer reused right after). */
function sendWhole(fileId: number, pieces: Uint8Array[], sizeBytes: number, stat: { mtimeNs: bigint; ctimeNs: bigint }): void {
  const mark = wholes.mark();
  try {
    for (const piece of pieces) {
      if (isZero(piece)) {
        wholes.addHole(piece.byteLength);
        continue;
      }
      const id = hashBlobId(piece);
      wholes.addSealed(id, piece.byteLength, sealBlobInto(data.recordKeys, systemRandom, codec, RecordKind.data, id, piece, wholes.room));
    }
  } catch (error) {
    wholes.rewind(mark);
    throw error;
  }
  wholes.addFile(fileId, pieces.length, sizeBytes, stat.mtimeNs, stat.ctimeNs);
  if (wholes.recordBytes >= WHOLES_FLUSH_BYTES) flush();
  else scheduleFlush();
}

/** Reads on the libuv pool: while one file's read waits for the disk, this thread seals another. */
function readAsync(fd: number, buffer: Uint8Array, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, null, (error, bytesRead) => (error === null ? resolve(bytesRead) : reject(error))));
}

/**
 * Heads are read synchronously while the files come from the page cache (a pool round trip costs
 * ~30 us of CPU per file more), and on the pool once one takes longer than SLOW_READ_NS (the disk):
 * then every READ_PROBE_EVERY-th head is read synchronously again to see whether the cache is back.
 */
const SLOW_READ_NS = 50_000n;
const READ_PROBE_EVERY = 32;
let headsOnPool = false;
let headsSinceProbe = 0;
let slowHeadsInARow = 0;

function readHead(fd: number, head: Uint8Array): Promise<number> | number {
  if (headsOnPool && ++headsSinceProbe < READ_PROBE_EVERY) return readAsync(fd, head, 0, head.byteLength);
  headsSinceProbe = 0;
  const start = process.hrtime.bigint();
  const bytesRead = readSync(fd, head, 0, head.byteLength, null);
  const slow = process.hrtime.bigint() - start > SLOW_READ_NS;
  // A cached read preempted by another thread looks as slow as one that waited for the disk: one
  // such read sent the next 31 heads to the pool (~10% of usr's heads at load 5, issue 5), so two
  // in a row are asked for. Once there, one slow probe keeps the heads on the pool.
  slowHeadsInARow = slow ? slowHeadsInARow + 1 : 0;
  headsOnPool = headsOnPool ? slow : slowHeadsInARow >= 2;
  return bytesRead;
}

/** Files that did not fit their head wait here for one of the BLOCK_BUFFERS_PER_WORKER_MAX block buffers. */
const blockWaiters: (() => void)[] = [];
let blockBuffersLent = 0;

async function takeBlockBuffer(): Promise<Uint8Array> {
  while (blockBuffersLent >= BLOCK_BUFFERS_PER_WORKER_MAX) await new Promise<void>((resolve) => blockWaiters.push(resolve));
  blockBuffersLent++;
  return spareBuffers.pop() ?? blockBytes(CHUNK_READ_BLOCK_BYTES + data.params.maxSizeBytes, sharing);
}

function returnBlockBuffer(buffer: Uint8Array): void {
  spareBuffers.push(buffer);
  blockBuffersLent--;
  blockWaiters.shift()?.();
}

/**
 * Cuts a buffer's bytes [0, filled) into pieces; returns them and where the uncut tail starts. Pieces
 * are copied (the buffer is reused, and each piece may be sealed after later reads) unless `copy` is
 * false: views, for a caller that keeps the buffer until they are sealed.
 */
function cut(buffer: Uint8Array, filled: number, eof: boolean, copy = true, stop = Infinity): { pieces: Uint8Array[]; end: number } {
  const pieces: Uint8Array[] = [];
  let start = 0;
  // stop: no piece starts there or later (another worker cut the bytes from there).
  while (start < stop) {
    const length = chunker.nextCut(buffer, start, filled, eof);
    if (length <= 0) break;
    pieces.push(copy ? buffer.slice(start, start + length) : buffer.subarray(start, start + length));
    start += length;
  }
  return { pieces, end: start };
}

/** A small file's pieces as views of its head: sendWhole seals them before the head is reused. */
function headPieces(head: Uint8Array, length: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let start = 0; start < length; ) {
    const pieceLength = chunker.nextCut(head, start, length, true);
    pieces.push(head.subarray(start, start + pieceLength));
    start += pieceLength;
  }
  return pieces;
}

async function backupFile(fileId: number, path: Uint8Array): Promise<void> {
  const fd = openSync(Buffer.from(path.buffer, path.byteOffset, path.byteLength), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    // Most files fit a small head: read into it first, so many files can wait for the disk at once
    // without a block buffer each.
    const head = spareHeads.pop() ?? new Uint8Array(FILE_HEAD_BYTES);
    let headBytes: number;
    try {
      headBytes = await readHead(fd, head);
      if (headBytes < head.byteLength) {
        // A short read that reached the file's size is its end: no second, empty read.
        const stat = fstatSync(fd, { bigint: true });
        if (stat.size === BigInt(headBytes) && headBytes <= SPECULATIVE_SEAL_MAX_BYTES) {
          // Small file: sealing it blindly costs less than a round trip to ask which chunks are new.
          sendWhole(fileId, headPieces(head, headBytes), headBytes, stat);
          return;
        }
      }
      const buffer = await takeBlockBuffer();
      try {
        buffer.set(head.subarray(0, headBytes));
        await backupRest(fileId, fd, buffer, headBytes);
      } finally {
        returnBlockBuffer(buffer);
      }
    } finally {
      spareHeads.push(head);
    }
  } finally {
    closeSync(fd);
  }
}

/** A block whose chunks (views of `buffer`) wait for their answer and sealing; done when sent. */
interface BlockInFlight {
  readonly done: Promise<void>;
  /** null: the chunks are views of a helped segment's window (readSegmented reuses it once its blocks are done). */
  readonly buffer: Uint8Array | null;
}

/**
 * Block buffers of blocks in flight beyond each file's own: at most BLOCK_BUFFERS_PER_WORKER_MAX ×
 * BLOCKS_IN_FLIGHT_PER_FILE_MAX of them exist (files holding a block buffer × blocks each).
 */
const spareFlightBuffers: Uint8Array[] = [];

/**
 * A file larger than its head: block by block, asking which chunks are new. buffer holds its first
 * `filled` bytes. The next blocks are read, cut and named while earlier blocks wait for their answer
 * (up to BLOCKS_IN_FLIGHT_PER_FILE_MAX); answers come in order, so records leave in the file's order.
 * Each block in flight keeps its buffer (its chunks are views, not copies) and reading goes on in another.
 */
async function backupRest(fileId: number, fd: number, buffer: Uint8Array, filled: number): Promise<void> {
  const inFlight: BlockInFlight[] = [];
  const taken: Uint8Array[] = [];
  const free: Uint8Array[] = [];
  const takeBuffer = () => free.pop() ?? taken[taken.push(spareFlightBuffers.pop() ?? blockBytes(buffer.byteLength, sharing)) - 1]!;
  try {
    const size = segmentedSize(fd);
    if (size === null) await readBlocks(fileId, fd, buffer, filled, inFlight, takeBuffer, free);
    else await readSegmented(fileId, fd, buffer, filled, size, inFlight, takeBuffer, free);
  } finally {
    // Even when reading failed: every chunk the main thread was told about and claimed is sent
    // before the file's "error" (other files may already point at those chunks).
    await Promise.all(inFlight.map((block) => block.done));
    spareFlightBuffers.push(...taken);
  }
}

async function readBlocks(
  fileId: number,
  fd: number,
  first: Uint8Array,
  filled: number,
  inFlight: BlockInFlight[],
  takeBuffer: () => Uint8Array,
  free: Uint8Array[],
): Promise<void> {
  let buffer = first;
  let total = filled;
  let eof = filled === 0;
  /** The stat that ended the reading: a short read that reached the file's size is its end. */
  let endStat: BigIntStats | null = null;
  while (!eof || filled > 0) {
    while (!eof && filled < buffer.byteLength) {
      const bytesRead = await readAsync(fd, buffer, filled, buffer.byteLength - filled);
      if (bytesRead === 0) eof = true;
      filled += bytesRead;
      total += bytesRead;
      if (bytesRead > 0 && filled < buffer.byteLength) {
        const stat = fstatSync(fd, { bigint: true });
        if (stat.size === BigInt(total)) {
          eof = true;
          endStat = stat;
        }
      }
    }
    const { pieces, end } = cut(buffer, filled, eof, false);
    if (eof && total <= SPECULATIVE_SEAL_MAX_BYTES && end === filled) {
      sendWhole(fileId, pieces, total, endStat ?? fstatSync(fd, { bigint: true }));
      return;
    }
    if (pieces.length === 0) {
      buffer.copyWithin(0, end, filled);
    } else {
      const done = sendBlock(fileId, pieces);
      done.catch(() => {}); // awaited below; not an unhandled rejection while the next block is read
      inFlight.push({ done, buffer });
      // The uncut tail moves to a buffer no block in flight holds.
      const next = takeBuffer();
      copyBytes(next, buffer.subarray(end, filled));
      buffer = next;
      if (inFlight.length >= BLOCKS_IN_FLIGHT_PER_FILE_MAX) {
        const oldest = inFlight.shift()!;
        await oldest.done;
        free.push(oldest.buffer!);
      }
    }
    filled -= end;
    if (eof && filled === 0) break;
  }
  for (const block of inFlight.splice(0)) {
    await block.done;
    free.push(block.buffer!);
  }
  const stat = endStat ?? fstatSync(fd, { bigint: true });
  send({ type: "done", fileId, sizeBytes: total, mtimeNs: stat.mtimeNs.toString(), ctimeNs: stat.ctimeNs.toString() });
}

/** Reads at an explicit offset (pread): the segmented path reads out of order, and another worker reads the same fd. */
function readAt(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (error, bytesRead) => (error === null ? resolve(bytesRead) : reject(error))));
}

const segmentBytes = data.segmentBytes ?? SEGMENT_BYTES;
let segmentedFiles = 0;
let nextSegmentJob = 1;
const segmentCuts = new Map<number, (cut: SegmentCut) => void>();

/**
 * The file's size when it is cut with another worker's help (issue 5: one big file kept one worker
 * chunking and the other idle): with more than one worker, at least three segments (so one is
 * helped), and no other such file on this worker (SEGMENTED_FILES_PER_WORKER_MAX). Else null.
 */
function segmentedSize(fd: number): number | null {
  if ((data.workerCount ?? 1) < 2 || segmentedFiles >= SEGMENTED_FILES_PER_WORKER_MAX) return null;
  const size = fstatSync(fd).size;
  return size >= 3 * segmentBytes ? size : null;
}

/** Asks another worker (through the pool) to cut [start, start + segmentBytes) of fd into window; resolves, never rejects. */
function askSegment(fd: number, start: number, window: Uint8Array): Promise<SegmentCut> {
  const jobId = nextSegmentJob++;
  const cut = new Promise<SegmentCut>((resolve) => segmentCuts.set(jobId, resolve));
  send({ type: "cutSegment", jobId, fd, start, segmentBytes, window }, movable([window.buffer]));
  return cut;
}

/**
 * Cuts a segment of another worker's file speculatively and names its chunks: reads the segment plus
 * a largest chunk (or to the file's end), the bytes its chunks' cut points depend on.
 */
async function cutSegmentJob(jobId: number, fd: number, start: number, bytes: number, window: Uint8Array): Promise<void> {
  let cut: SegmentCut;
  let transfer: ArrayBuffer[] = [];
  try {
    assert(window.byteLength === bytes + data.params.maxSizeBytes, `segment window of ${window.byteLength} bytes for segment ${bytes}`);
    let filled = 0;
    let eof = false;
    while (filled < window.length) {
      const bytesRead = await readAt(fd, window, filled, window.length - filled, start + filled);
      if (bytesRead === 0) {
        eof = true;
        break;
      }
      filled += bytesRead;
    }
    const got = window.subarray(0, filled);
    const lengthList: number[] = [];
    const names: (Uint8Array | null)[] = [];
    let at = 0;
    let sinceTurn = 0;
    for (const length of segmentLengths(chunker, got, bytes, eof)) {
      const piece = got.subarray(at, at + length);
      lengthList.push(length);
      names.push(isZero(piece) ? null : hashBlobId(piece));
      at += length;
      sinceTurn += length;
      if (sinceTurn >= CHUNK_READ_BLOCK_BYTES) {
        // Let the owner's "seal" messages in between: its blocks wait for them, and a whole
        // segment at once kept it stalled for tens of ms.
        sinceTurn = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    const lengths = Uint32Array.from(lengthList);
    const ids = new Uint8Array(lengths.length * BLOB_ID_SIZE_BYTES);
    const holes = new Uint8Array(lengths.length);
    names.forEach((id, i) => (id === null ? (holes[i] = 1) : ids.set(id, i * BLOB_ID_SIZE_BYTES)));
    cut = { window: got, eof, lengths, ids, holes };
    transfer = movable([window.buffer, lengths.buffer, ids.buffer, holes.buffer]);
  } catch (error) {
    cut = { code: (error as NodeJS.ErrnoException).code ?? "EIO", message: error instanceof Error ? error.message : String(error) };
  }
  send({ type: "segmentCut", jobId, cut }, transfer);
}

/**
 * A big file cut on two workers (chunker/segments.ts says why the cuts are the sequential ones).
 * Every other segment but the last is cut by another worker, up to SEGMENTS_AHEAD_PER_FILE_MAX
 * ahead; this worker follows the true cut chain: it reads and cuts its own stretches block by block
 * (as readBlocks does) up to the next helped segment, then joins that segment's cut from wherever
 * the chain entered it. The last stretch runs to wherever the file ends now. Blocks go out in file
 * order, so "ids"/"need" stay FIFO per file as on the one-worker path.
 */
async function readSegmented(
  fileId: number,
  fd: number,
  first: Uint8Array,
  headBytes: number,
  size: number,
  inFlight: BlockInFlight[],
  takeBuffer: () => Uint8Array,
  free: Uint8Array[],
): Promise<void> {
  const helped: number[] = [];
  for (let k = 1; k < Math.floor(size / segmentBytes) - 1; k += 2) helped.push(k * segmentBytes);
  const asked: Promise<SegmentCut>[] = [];
  let nextAsked = 0;
  // Windows whose blocks were sent, oldest first (reused once those are done); asked + 2 of them
  // exist at most, so the one taken was consumed two segments ago and is normally done.
  const used: { window: Uint8Array; done: Promise<unknown> }[] = [];
  let windows = 0;
  const takeWindow = async () => {
    if (windows < SEGMENTS_AHEAD_PER_FILE_MAX + 2) {
      windows++;
      return blockBytes(segmentBytes + data.params.maxSizeBytes, sharing);
    }
    const oldest = used.shift()!;
    await oldest.done;
    return oldest.window;
  };
  segmentedFiles++;
  try {
    let buffer = first;
    let filled = headBytes;
    let position = 0;
    let endStat: BigIntStats | null = null;
    for (let h = 0; ; h++) {
      while (nextAsked < helped.length && asked.length < SEGMENTS_AHEAD_PER_FILE_MAX) asked.push(askSegment(fd, helped[nextAsked++]!, await takeWindow()));
      const stop = h < helped.length ? helped[h]! : Infinity;
      const stretch = await readStretch(fileId, fd, buffer, filled, position, stop, inFlight, takeBuffer, free);
      buffer = stretch.buffer;
      position = stretch.position;
      filled = 0; // the bytes read past stop are in the helper's window
      if (stretch.eof) {
        endStat = stretch.endStat;
        break;
      }
      const cut = await asked.shift()!;
      if ("code" in cut) throw Object.assign(new Error(cut.message), { code: cut.code });
      const sent = await sendSegment(fileId, cut, stop, position, inFlight, free);
      position = sent.position;
      used.push({ window: new Uint8Array(cut.window.buffer), done: sent.done });
      // A window cut short by the file's end (it shrank): the chain ended in it.
      if (cut.eof && position >= stop + cut.window.length) break;
    }
    for (const block of inFlight.splice(0)) {
      await block.done;
      if (block.buffer !== null) free.push(block.buffer);
    }
    const stat = endStat ?? fstatSync(fd, { bigint: true });
    send({ type: "done", fileId, sizeBytes: position, mtimeNs: stat.mtimeNs.toString(), ctimeNs: stat.ctimeNs.toString() });
  } finally {
    segmentedFiles--;
    // Helpers read this fd: it must stay open (not be closed and reused) until they are done.
    await Promise.all(asked);
  }
}

/** Sends a block and keeps at most BLOCKS_IN_FLIGHT_PER_FILE_MAX in flight; `done` when sent and sealed. */
async function sendInFlight(
  fileId: number,
  pieces: Uint8Array[],
  chunks: ChunkInfo[] | undefined,
  buffer: Uint8Array | null,
  inFlight: BlockInFlight[],
  free: Uint8Array[],
  dones: Promise<void>[] = [],
): Promise<void> {
  const done = sendBlock(fileId, pieces, chunks);
  done.catch(() => {}); // awaited later; not an unhandled rejection meanwhile
  inFlight.push({ done, buffer });
  dones.push(done);
  if (inFlight.length >= BLOCKS_IN_FLIGHT_PER_FILE_MAX) {
    const oldest = inFlight.shift()!;
    await oldest.done;
    if (oldest.buffer !== null) free.push(oldest.buffer);
  }
}

/**
 * The true chain from `position` (buffer holds the file's bytes from there, `filled` of them) until a
 * chunk starts at `stop` or later, or the file ends (eof). Reads at most a largest chunk past stop.
 */
async function readStretch(
  fileId: number,
  fd: number,
  buffer: Uint8Array,
  filled: number,
  position: number,
  stop: number,
  inFlight: BlockInFlight[],
  takeBuffer: () => Uint8Array,
  free: Uint8Array[],
): Promise<{ buffer: Uint8Array; position: number; eof: boolean; endStat: BigIntStats | null }> {
  let eof = false;
  let endStat: BigIntStats | null = null;
  while (position < stop) {
    const want = Math.min(buffer.byteLength, stop - position + data.params.maxSizeBytes);
    while (!eof && filled < want) {
      const bytesRead = await readAt(fd, buffer, filled, want - filled, position + filled);
      if (bytesRead === 0) eof = true;
      filled += bytesRead;
      if (bytesRead > 0 && filled < want) {
        // A short read that reached the file's size is its end.
        const stat = fstatSync(fd, { bigint: true });
        if (stat.size === BigInt(position + filled)) {
          eof = true;
          endStat = stat;
        }
      }
    }
    const { pieces, end } = cut(buffer, filled, eof, false, stop - position);
    if (pieces.length > 0) {
      const next = takeBuffer();
      copyBytes(next, buffer.subarray(end, filled));
      await sendInFlight(fileId, pieces, undefined, buffer, inFlight, free);
      buffer = next;
    }
    position += end;
    filled -= end;
    if (eof && filled === 0) return { buffer, position, eof: true, endStat };
  }
  return { buffer, position, eof: false, endStat: null };
}

/**
 * Sends the true chunks of a helped segment from `position` on, in blocks of about
 * CHUNK_READ_BLOCK_BYTES; returns where the chain goes on, and when the window is free again.
 */
async function sendSegment(
  fileId: number,
  cut: Extract<SegmentCut, { window: Uint8Array }>,
  segmentStart: number,
  position: number,
  inFlight: BlockInFlight[],
  free: Uint8Array[],
): Promise<{ position: number; done: Promise<unknown> }> {
  const dones: Promise<void>[] = [];
  const { chunks, end } = joinSegment(chunker, cut.window, segmentBytes, cut.eof, cut.lengths, position - segmentStart);
  let pieces: Uint8Array[] = [];
  let infos: ChunkInfo[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    const piece = cut.window.subarray(chunk.start, chunk.start + chunk.length);
    pieces.push(piece);
    if (chunk.spec < 0) infos.push(chunkInfo(piece));
    else {
      // A copy: a view would carry the whole ID array along in every "ids" message.
      const at = chunk.spec * BLOB_ID_SIZE_BYTES;
      infos.push({ id: cut.holes[chunk.spec] === 1 ? null : cut.ids.slice(at, at + BLOB_ID_SIZE_BYTES), sizeBytes: chunk.length });
    }
    bytes += chunk.length;
    if (bytes >= CHUNK_READ_BLOCK_BYTES) {
      await sendInFlight(fileId, pieces, infos, null, inFlight, free, dones);
      pieces = [];
      infos = [];
      bytes = 0;
    }
  }
  if (pieces.length > 0) await sendInFlight(fileId, pieces, infos, null, inFlight, free, dones);
  // Settled either way: a failed block fails the file through inFlight; this only says the window is unused.
  return { position: segmentStart + end, done: Promise.allSettled(dones) };
}

async function drain(): Promise<void> {
  if (running >= FILES_PER_WORKER_MAX) return;
  running++;
  while (queue.length > 0) {
    const task = queue.shift()!;
    try {
      await backupFile(task.fileId, task.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "EIO";
      send({ type: "error", fileId: task.fileId, code, message: error instanceof Error ? error.message : String(error) });
    }
  }
  running--;
}

/** User and group names, as the main thread derives them (same files, read once per worker). */
const accounts = new AccountBytes(new NodeSourceFs());

/** A listing (readdir and lstat) this slow waited for the disk, or the machine is busy: the pool then starts its other workers. */
const LISTING_SLOW_MS = 15;

function listDirectory(listId: number, path: Uint8Array, parent: Uint8Array[] | null): void {
  let listing: ReturnType<typeof listDirectorySync>;
  const started = performance.now();
  try {
    listing = listDirectorySync(Buffer.from(path));
  } catch (error) {
    send({ type: "listing", listId, slow: false, error: entryError(error) });
    return;
  }
  const slow = performance.now() - started > LISTING_SLOW_MS;
  const found = parent === null ? null : matchParent(accounts, listing, parent);
  const match = found === null ? null : { ...found, subtrees: packSubtrees(found.subtrees) };
  const packed = packListing(listing);
  const transfer = transferables(packed);
  if (match !== null) transfer.push(match.entries.buffer as ArrayBuffer, match.subtrees.counts.buffer as ArrayBuffer, match.subtrees.ids.buffer as ArrayBuffer);
  send({ type: "listing", listId, slow, packed, match }, transfer);
}

port.on("message", (batch: ToWorker[]) => {
  for (const message of batch) {
    if (message.type === "list") {
      listDirectory(message.listId, message.path, message.parent);
      continue;
    }
    if (message.type === "seal") {
      const { sealed, transfer } = sealAll(message.ids, message.pieces);
      send({ type: "sealed", sealId: message.sealId, sealed }, transfer);
      continue;
    }
    if (message.type === "cutSegment") {
      void cutSegmentJob(message.jobId, message.fd, message.start, message.segmentBytes, message.window);
      continue;
    }
    if (message.type === "released") {
      const resolve = releases.get(message.releaseId);
      releases.delete(message.releaseId);
      resolve?.();
      continue;
    }
    if (message.type === "segmentCut") {
      const resolve = segmentCuts.get(message.jobId);
      segmentCuts.delete(message.jobId);
      resolve?.(message.cut);
      continue;
    }
    if (message.type === "need") {
      const waiting = waitingForNeed.get(message.fileId);
      const resolve = waiting?.shift();
      if (waiting?.length === 0) waitingForNeed.delete(message.fileId);
      resolve?.(message.need);
      continue;
    }
    for (let i = 0; i < message.fileIds.length; i++) {
      queue.push({ fileId: message.fileIds[i]!, path: message.paths.subarray(message.pathEnds[i - 1] ?? 0, message.pathEnds[i]) });
    }
  }
  for (let i = running; i < FILES_PER_WORKER_MAX && queue.length > 0; i++) void drain();
});
