/**
 * Opening a vault: which header copy, superblock and checkpoint to trust. The cases, in the order
 * they are decided (docs/FORMAT.md §10 repeats this table):
 *
 *  header  | both copies valid                → the higher sequence whose MAC verifies (a key change
 *          |                                    torn between them; a copy forged without the key)
 *          | one valid                        → use it; warn that the other is damaged
 *          | no magic in either               → NOT_A_VAULT
 *          | magic but none valid             → VaultCorruptError "header destroyed"
 *          | valid copy, unknown version      → UNSUPPORTED_FORMAT_VERSION
 *  pointer | both superblocks valid           → the higher sequence, else the other
 *          | one valid                        → use it (the other was torn mid-write: normal)
 *          | none valid                       → scan the log for the newest checkpoint; warn
 *          | checkpoint it names is invalid   → fall back to the other slot; DAMAGE (a durable
 *          |                                    checkpoint was lost): open read-only, warn
 *  tail    | valid chained checkpoints after  → roll forward over them (superblock write was lost)
 *          | anything else after the commit   → torn tail of an interrupted writer: ignored, and
 *          |                                    truncated when the next writer opens
 *  index   | an index record is invalid       → rebuild the index by scanning every record; warn;
 *          |                                    open read-only until `check` repairs it
 */
import { type KdfParams, deriveKek } from "../crypto/kdf.ts";
import { SuedeError, VaultCorruptError } from "../errors/errors.ts";
import { BlobIndex, decodeIndexEntries } from "./blob-index.ts";
import { type Checkpoint, type SuperblockPointer, decodeCheckpoint, decodeSuperblock } from "./checkpoint.ts";
import {
  HEADER_COPY_OFFSETS,
  HEADER_COPY_SIZE_BYTES,
  INDEX_ENTRY_SIZE_BYTES,
  LOG_START_OFFSET,
  RECORD_BODY_SIZE_MAX_BYTES,
  RECORD_OVERHEAD_BYTES,
  RECORD_PREFIX_SIZE_BYTES,
  RecordKind,
  type RecordKindCode,
  SUPERBLOCK_SLOT_OFFSETS,
  SUPERBLOCK_SLOT_SIZE_BYTES,
} from "./format.ts";
import { type HeaderProblem, type VaultHeader, decodeHeaderCopy, unwrapMasterKey } from "./header.ts";
import { type OpenedHeader, type RecordKeys, openRecordBody, openRecordHeader } from "./record.ts";
import type { VaultFile } from "./vault-file.ts";

export interface CommittedState {
  readonly checkpoint: Checkpoint;
  readonly checkpointOffset: number;
  /** End of the committed log: the end of the newest checkpoint record. */
  readonly logEnd: number;
  /** The blob index; only the snapshot entries when indexComplete is false (IndexLoad "snapshots"). */
  readonly index: BlobIndex;
  readonly indexComplete: boolean;
  readonly warnings: readonly string[];
  /** True when committed data was found damaged (not merely a torn tail): writers must refuse. */
  readonly damaged: boolean;
  /** True when the committed index records were unreadable and the index was rebuilt by a log scan. */
  readonly indexRebuilt: boolean;
}

export { readHeader, unlockHeader } from "./unlock.ts";

interface ReadRecord {
  readonly opened: OpenedHeader;
  readonly sizeBytes: number;
}

/** Reads and authenticates the header of the record at offset; null when none is there. */
async function readRecordHeaderAt(file: VaultFile, keys: RecordKeys, offset: number): Promise<ReadRecord | null> {
  const prefix = await file.readAt(offset, RECORD_PREFIX_SIZE_BYTES);
  const opened = openRecordHeader(keys, prefix);
  if (typeof opened === "string") return null;
  return { opened, sizeBytes: RECORD_OVERHEAD_BYTES + opened.header.paddedLength };
}

/** True when a whole record whose header authenticates starts at offset (not a torn tail). */
export async function authenticRecordAt(file: VaultFile, keys: RecordKeys, offset: number): Promise<boolean> {
  const size = await file.sizeBytes();
  if (offset + RECORD_OVERHEAD_BYTES > size) return false;
  const head = await readRecordHeaderAt(file, keys, offset);
  return head !== null && offset + head.sizeBytes <= size;
}

/** Reads, authenticates and returns the body of a record of the expected kind, or a problem. */
export async function readRecordBody(
  file: VaultFile,
  keys: RecordKeys,
  offset: number,
  expectedKind: RecordKindCode,
  expectedSize?: number,
): Promise<Uint8Array | string> {
  const head = await readRecordHeaderAt(file, keys, offset);
  if (head === null) return `no valid record at offset ${offset}`;
  if (head.opened.header.kind !== expectedKind) return `record at offset ${offset} has kind ${head.opened.header.kind}, expected ${expectedKind}`;
  if (expectedSize !== undefined && head.sizeBytes !== expectedSize) return `record at offset ${offset} has the wrong length`;
  const sealed = await file.readAt(offset + RECORD_PREFIX_SIZE_BYTES, head.sizeBytes - RECORD_PREFIX_SIZE_BYTES);
  const body = openRecordBody(keys, head.opened, sealed);
  return typeof body === "string" ? `${body} (offset ${offset})` : body;
}

export async function readSuperblocks(file: VaultFile, keys: RecordKeys): Promise<SuperblockPointer[]> {
  const pointers: SuperblockPointer[] = [];
  for (const offset of SUPERBLOCK_SLOT_OFFSETS) {
    // One read per slot: a reader racing a writer must not pair one superblock's header with the
    // next one's body (that fails authentication and hides both slots from the reader).
    const slot = await file.readAt(offset, SUPERBLOCK_SLOT_SIZE_BYTES);
    const opened = openRecordHeader(keys, slot.subarray(0, RECORD_PREFIX_SIZE_BYTES));
    if (typeof opened === "string" || opened.header.kind !== RecordKind.superblock) continue;
    const size = RECORD_OVERHEAD_BYTES + opened.header.paddedLength;
    if (size > slot.byteLength) continue;
    const body = openRecordBody(keys, opened, slot.subarray(RECORD_PREFIX_SIZE_BYTES, size));
    if (typeof body === "string") continue;
    const pointer = decodeSuperblock(body);
    if (typeof pointer !== "string" && pointer.checkpointOffset >= LOG_START_OFFSET) pointers.push(pointer);
  }
  return pointers.sort((a, b) => b.sequence - a.sequence);
}

export async function readBestSuperblock(file: VaultFile, keys: RecordKeys): Promise<SuperblockPointer | null> {
  return (await readSuperblocks(file, keys))[0] ?? null;
}

async function readCheckpointAt(file: VaultFile, keys: RecordKeys, offset: number, size?: number): Promise<{ checkpoint: Checkpoint; sizeBytes: number } | string> {
  const head = await readRecordHeaderAt(file, keys, offset);
  if (head === null) return `no valid checkpoint at offset ${offset}`;
  const body = await readRecordBody(file, keys, offset, RecordKind.checkpoint, size ?? head.sizeBytes);
  if (typeof body === "string") return body;
  const checkpoint = decodeCheckpoint(body);
  if (typeof checkpoint === "string") return `${checkpoint} (offset ${offset})`;
  if (checkpoint.selfOffset !== offset) return `checkpoint at offset ${offset} claims offset ${checkpoint.selfOffset}`;
  return { checkpoint, sizeBytes: head.sizeBytes };
}

/** Follows valid checkpoints chained after `from` (a commit whose superblock write was lost). */
async function rollForward(file: VaultFile, keys: RecordKeys, start: { checkpoint: Checkpoint; offset: number; sizeBytes: number }) {
  let current = start;
  let position = start.offset + start.sizeBytes;
  const fileSize = await file.sizeBytes();
  while (position + RECORD_OVERHEAD_BYTES <= fileSize) {
    const head = await readRecordHeaderAt(file, keys, position);
    if (head === null || position + head.sizeBytes > fileSize) break;
    if (head.opened.header.kind === RecordKind.checkpoint) {
      const next = await readCheckpointAt(file, keys, position, head.sizeBytes);
      if (typeof next === "string") break;
      const chained = next.checkpoint.sequence === current.checkpoint.sequence + 1 && next.checkpoint.previousOffset === current.offset;
      if (!chained) break;
      // Its index records went to disk in the same unsynced batch: a power cut may keep the
      // checkpoint and tear them. Such a commit never returned (no superblock), so stop before it.
      if (!(await newIndexRecordsIntact(file, keys, next.checkpoint, current.offset))) break;
      current = { checkpoint: next.checkpoint, offset: position, sizeBytes: next.sizeBytes };
    }
    position += head.sizeBytes;
  }
  return current;
}

async function newIndexRecordsIntact(file: VaultFile, keys: RecordKeys, checkpoint: Checkpoint, after: number): Promise<boolean> {
  for (const span of checkpoint.indexRecords) {
    if (span.offset <= after) continue;
    const body = await readRecordBody(file, keys, span.offset, RecordKind.index, span.length);
    if (typeof body === "string" || typeof decodeIndexEntries(body) === "string") return false;
  }
  return true;
}

/** Scans every record from the start of the log; used when no pointer or index can be trusted. */
export async function* scanLog(file: VaultFile, keys: RecordKeys): AsyncGenerator<{ offset: number; opened: OpenedHeader; sizeBytes: number }> {
  const fileSize = await file.sizeBytes();
  let position = LOG_START_OFFSET;
  while (position + RECORD_OVERHEAD_BYTES <= fileSize) {
    const head = await readRecordHeaderAt(file, keys, position);
    if (head === null || position + head.sizeBytes > fileSize) return;
    yield { offset: position, opened: head.opened, sizeBytes: head.sizeBytes };
    position += head.sizeBytes;
  }
}

async function findNewestCheckpointByScan(file: VaultFile, keys: RecordKeys) {
  let best: { checkpoint: Checkpoint; offset: number; sizeBytes: number } | null = null;
  for await (const record of scanLog(file, keys)) {
    if (record.opened.header.kind !== RecordKind.checkpoint) continue;
    const found = await readCheckpointAt(file, keys, record.offset, record.sizeBytes);
    if (typeof found !== "string" && (best === null || found.checkpoint.sequence > best.checkpoint.sequence)) {
      best = { checkpoint: found.checkpoint, offset: record.offset, sizeBytes: found.sizeBytes };
    }
  }
  return best;
}

/**
 * What opening loads of the index: all of it, or (read-only listings) every index record read,
 * authenticated and validated as usual but only the snapshot entries kept; the rest is loaded on
 * first need (Vault.loadIndex). A record that fails this way falls back to the full load, so the
 * warnings and the damage verdict are those of a full open.
 */
export type IndexLoad = "full" | "snapshots";

export async function loadCommittedState(file: VaultFile, keys: RecordKeys, indexLoad: IndexLoad = "full"): Promise<CommittedState> {
  const warnings: string[] = [];
  let damaged = false;
  const pointers = await readSuperblocks(file, keys);
  let start: { checkpoint: Checkpoint; offset: number; sizeBytes: number } | null = null;
  for (const pointer of pointers) {
    const found = await readCheckpointAt(file, keys, pointer.checkpointOffset, pointer.checkpointLength);
    if (typeof found === "string") {
      warnings.push(`checkpoint ${pointer.sequence} is damaged: ${found}`);
      damaged = true;
      continue;
    }
    if (found.checkpoint.sequence !== pointer.sequence) {
      warnings.push(`superblock ${pointer.sequence} points at checkpoint ${found.checkpoint.sequence}`);
      damaged = true;
      continue;
    }
    start = { ...found, offset: pointer.checkpointOffset };
    break;
  }
  if (start === null) {
    warnings.push("no valid superblock or checkpoint pointer: scanned the log for the newest checkpoint");
    start = await findNewestCheckpointByScan(file, keys);
    if (start === null) throw new VaultCorruptError(LOG_START_OFFSET, "no valid checkpoint found anywhere in the vault (suede salvage recovers what is still readable)");
  }
  const newest = await rollForward(file, keys, start);
  const logEnd = newest.offset + newest.sizeBytes;
  if (indexLoad === "snapshots" && !damaged) {
    const snapshotIndex = await loadSnapshotEntries(file, keys, newest.checkpoint, logEnd);
    if (snapshotIndex !== null && (await file.sizeBytes()) >= logEnd) {
      return { checkpoint: newest.checkpoint, checkpointOffset: newest.offset, logEnd, index: snapshotIndex, indexComplete: false, warnings, damaged, indexRebuilt: false };
    }
  }
  // Records are padded (Padmé, under 12%): this bound on the entry count sizes the table once.
  const index = new BlobIndex(newest.checkpoint.indexRecords.reduce((sum, span) => sum + span.length, 0) / INDEX_ENTRY_SIZE_BYTES / 1.12);
  let indexOk = true;
  for (const span of newest.checkpoint.indexRecords) {
    const body = await readRecordBody(file, keys, span.offset, RecordKind.index, span.length);
    const problem = typeof body === "string" ? body : index.addIndexRecord(body, logEnd);
    if (problem !== null) {
      warnings.push(`index record damaged (${problem}); rebuilt the index by scanning the log`);
      indexOk = false;
      break;
    }
  }
  const fileSize = await file.sizeBytes();
  if (fileSize < logEnd) {
    warnings.push(`vault file is shorter (${fileSize} bytes) than its last commit (${logEnd} bytes): it was cut short`);
    damaged = true;
  }
  const finalIndex = indexOk ? index : await rebuildIndex(file, keys, logEnd);
  if (!indexOk) damaged = true;
  return { checkpoint: newest.checkpoint, checkpointOffset: newest.offset, logEnd, index: finalIndex, indexComplete: true, warnings, damaged, indexRebuilt: !indexOk };
}

/** The snapshot entries of the checkpoint's index records, every record checked as a full load checks it; null on any problem. */
async function loadSnapshotEntries(file: VaultFile, keys: RecordKeys, checkpoint: Checkpoint, logEnd: number): Promise<BlobIndex | null> {
  const index = new BlobIndex();
  for (const span of checkpoint.indexRecords) {
    const body = await readRecordBody(file, keys, span.offset, RecordKind.index, span.length);
    if (typeof body === "string" || index.addIndexRecord(body, logEnd, RecordKind.snapshot) !== null) return null;
  }
  return index;
}

/** The index as the records themselves describe it (every blob record before logEnd). */
async function rebuildIndex(file: VaultFile, keys: RecordKeys, logEnd: number): Promise<BlobIndex> {
  const index = new BlobIndex();
  for await (const record of scanLog(file, keys)) {
    if (record.offset >= logEnd) break;
    const { kind } = record.opened.header;
    if (kind === RecordKind.data || kind === RecordKind.tree || kind === RecordKind.snapshot) {
      index.set(Uint8Array.from(record.opened.header.id), {
        offset: record.offset,
        recordLength: record.sizeBytes,
        rawLength: record.opened.header.rawLength,
        kind,
      });
    }
  }
  return index;
}
