/**
 * Checkpoint records (FORMAT.md §8): the committed state of the vault, written last in a commit.
 * Superblock slots (FORMAT.md §6) point at the newest one.
 */
import { encode } from "@msgpack/msgpack";
import { ByteReader, ByteWriter } from "../util/bytes.ts";
import { decodeBounded } from "../util/msgpack.ts";
import { SUPERBLOCK_BODY_SIZE_BYTES } from "./format.ts";

export interface SnapshotRef {
  readonly number: number;
  readonly id: Uint8Array;
}

export interface RecordSpan {
  readonly offset: number;
  readonly length: number;
}

/**
 * Keys that name and cut data, kept from the master key a vault had before a re-key (FORMAT.md §8):
 * a re-key re-encrypts every record but keeps blob IDs and chunk boundaries, so no tree is rewritten
 * and the next backup still deduplicates against the old data.
 */
export interface IdentityKeys {
  readonly blobId: Uint8Array;
  readonly chunker: Uint8Array;
}

export interface Checkpoint {
  readonly sequence: number;
  /** Offset of the previous checkpoint record, 0 for the first. */
  readonly previousOffset: number;
  /** Where this checkpoint record itself starts; a copy found elsewhere is not trusted. */
  readonly selfOffset: number;
  readonly timeMs: number;
  readonly nextSnapshotNumber: number;
  readonly snapshots: readonly SnapshotRef[];
  /** The index records which together hold every live blob's location. */
  readonly indexRecords: readonly RecordSpan[];
  /** Present only in re-keyed vaults; every later checkpoint carries it forward. */
  readonly identityKeys?: IdentityKeys;
}

const CHECKPOINT_VERSION = 1;

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const identity = checkpoint.identityKeys === undefined ? [] : [[checkpoint.identityKeys.blobId, checkpoint.identityKeys.chunker]];
  return encode([
    CHECKPOINT_VERSION,
    checkpoint.sequence,
    checkpoint.previousOffset,
    checkpoint.selfOffset,
    checkpoint.timeMs,
    checkpoint.nextSnapshotNumber,
    checkpoint.snapshots.map((s) => [s.number, s.id]),
    checkpoint.indexRecords.map((r) => [r.offset, r.length]),
    ...identity,
  ]);
}

const isCount = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

export function decodeCheckpoint(body: Uint8Array): Checkpoint | string {
  let value: unknown;
  try {
    value = decodeBounded(body);
  } catch {
    return "checkpoint is not valid msgpack";
  }
  if (!Array.isArray(value) || (value.length !== 8 && value.length !== 9)) return "checkpoint has the wrong shape";
  const [version, sequence, previousOffset, selfOffset, timeMs, nextSnapshotNumber, snapshots, indexRecords, identity] = value as unknown[];
  if (version !== CHECKPOINT_VERSION) return `checkpoint version ${String(version)} is unknown`;
  if (!isCount(sequence) || !isCount(previousOffset) || !isCount(selfOffset) || !isCount(timeMs) || !isCount(nextSnapshotNumber)) {
    return "checkpoint fields out of range";
  }
  if (!Array.isArray(snapshots) || !Array.isArray(indexRecords)) return "checkpoint lists missing";
  const snapshotRefs: SnapshotRef[] = [];
  for (const item of snapshots as unknown[]) {
    if (!Array.isArray(item) || !isCount(item[0]) || !(item[1] instanceof Uint8Array) || item[1].byteLength !== 32) {
      return "checkpoint snapshot entry malformed";
    }
    snapshotRefs.push({ number: item[0], id: item[1] });
  }
  const spans: RecordSpan[] = [];
  for (const item of indexRecords as unknown[]) {
    if (!Array.isArray(item) || !isCount(item[0]) || !isCount(item[1])) return "checkpoint index entry malformed";
    spans.push({ offset: item[0], length: item[1] });
  }
  const checkpoint: Checkpoint = { sequence, previousOffset, selfOffset, timeMs, nextSnapshotNumber, snapshots: snapshotRefs, indexRecords: spans };
  if (value.length === 8) return checkpoint;
  const isKey = (key: unknown): key is Uint8Array => key instanceof Uint8Array && key.byteLength === 32;
  if (!Array.isArray(identity) || identity.length !== 2 || !isKey(identity[0]) || !isKey(identity[1])) return "checkpoint identity keys malformed";
  return { ...checkpoint, identityKeys: { blobId: identity[0], chunker: identity[1] } };
}

export interface SuperblockPointer {
  readonly sequence: number;
  readonly checkpointOffset: number;
  readonly checkpointLength: number;
}

export function encodeSuperblock(pointer: SuperblockPointer): Uint8Array {
  return new ByteWriter(SUPERBLOCK_BODY_SIZE_BYTES)
    .u64(pointer.sequence)
    .u64(pointer.checkpointOffset)
    .u64(pointer.checkpointLength)
    .u64(0)
    .finish(true);
}

export function decodeSuperblock(body: Uint8Array): SuperblockPointer | string {
  if (body.byteLength !== SUPERBLOCK_BODY_SIZE_BYTES) return "superblock has the wrong size";
  try {
    const reader = new ByteReader(body);
    const pointer = { sequence: reader.u64(), checkpointOffset: reader.u64(), checkpointLength: reader.u64() };
    if (reader.u64() !== 0) return "superblock reserved field set";
    return pointer;
  } catch {
    return "superblock fields out of range";
  }
}
