/**
 * Salvage: read what is left of a vault that will not open normally (both superblocks and every
 * checkpoint gone, index records damaged, the middle of the file overwritten). Needs one readable
 * header copy and a key that opens it; everything else is found by scanning the log for records
 * that authenticate under the vault's record key. Where a record does not authenticate, the scan
 * moves on byte by byte until one does again (AEAD makes a false match impossible in practice), so
 * damage costs only the records it touched. Read-only: the vault file is never written.
 */
import type { BlobId } from "../core/ids.ts";
import type { BlobKind, BlobStore, SealingSpec } from "../core/ports.ts";
import { SuedeError, VaultCorruptError } from "../errors/errors.ts";
import { toHex } from "../util/bytes.ts";
import { Codec } from "./compress.ts";
import { LOG_START_OFFSET, RECORD_OVERHEAD_BYTES, RECORD_PREFIX_SIZE_BYTES, RecordKind, type RecordKindCode } from "./format.ts";
import { type RecordKeys, openRecordBody, openRecordHeader } from "./record.ts";
import { headerBackupCandidates } from "./header-backup.ts";
import { readHeader } from "./recover.ts";
import { unlockVerified } from "./vault.ts";
import { VaultFile } from "./vault-file.ts";

/** Bytes read per scan window (each window overlaps the next by one record prefix). */
const SCAN_WINDOW_BYTES = 4 * 1024 * 1024;

interface Location {
  readonly offset: number;
  readonly sizeBytes: number;
  readonly kind: RecordKindCode;
}

export interface SalvageScan {
  /** Records whose header authenticated, by kind name. */
  readonly records: Readonly<Record<"data" | "tree" | "snapshot" | "other", number>>;
  /** Bytes of the log that held no authentic record (damage, or a torn tail). */
  readonly unreadableBytes: number;
  /** Where unreadable stretches start and how long they are (at most 100 listed). */
  readonly unreadableRanges: readonly { offset: number; length: number }[];
}

const BLOB_KINDS: ReadonlySet<number> = new Set([RecordKind.data, RecordKind.tree, RecordKind.snapshot]);

/** A read-only BlobStore over the records a scan found; a blob stored twice is read from either copy. */
export class SalvageStore implements BlobStore {
  private readonly codec = new Codec();

  private constructor(
    private readonly file: VaultFile,
    private readonly keys: RecordKeys,
    private readonly locations: Map<string, Location[]>,
    /** Snapshot records found, in log order. */
    readonly snapshotIds: readonly BlobId[],
    readonly scan: SalvageScan,
  ) {}

  /** headerBackup: a header backup file to unlock with instead of the vault's own header copies. */
  static async open(path: string, secret: Uint8Array, headerBackup?: string): Promise<SalvageStore> {
    const file = await VaultFile.open(path, { writable: false });
    try {
      const candidates = headerBackup === undefined ? (await readHeader(file)).candidates : await headerBackupCandidates(headerBackup);
      const { header, keys } = await unlockVerified(candidates, secret);
      const recordKeys: RecordKeys = { vaultId: header.vaultId, recordBase: keys.record };
      const { locations, snapshotIds, scan } = await scanAll(file, recordKeys);
      return new SalvageStore(file, recordKeys, locations, snapshotIds, scan);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  hasBlob(id: BlobId): boolean {
    return this.locations.has(toHex(id));
  }

  async getBlob(id: BlobId): Promise<Uint8Array> {
    const found = this.locations.get(toHex(id));
    if (found === undefined) throw new VaultCorruptError(0, `blob ${toHex(id).slice(0, 16)}… was not found anywhere in the vault`);
    let problem = "";
    for (const location of found) {
      const record = await this.file.readAt(location.offset, location.sizeBytes);
      const opened = openRecordHeader(this.keys, record);
      if (typeof opened === "string") {
        problem = opened;
        continue;
      }
      const body = openRecordBody(this.keys, opened, record.subarray(RECORD_PREFIX_SIZE_BYTES));
      if (typeof body === "string") {
        problem = `${body} (offset ${location.offset})`;
        continue;
      }
      try {
        return this.codec.decompress(opened.header.flags, body, opened.header.rawLength);
      } catch (error) {
        problem = `record at offset ${location.offset} does not decompress: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    throw new VaultCorruptError(found[0]!.offset, problem);
  }

  blobId(): BlobId {
    throw new SuedeError("FAILED", "a salvage session only reads");
  }

  putBlob(_kind: BlobKind): Promise<number> {
    throw new SuedeError("FAILED", "a salvage session only reads");
  }

  claimBlob(): boolean {
    throw new SuedeError("FAILED", "a salvage session only reads");
  }

  putSealedBlob(): Promise<number> {
    throw new SuedeError("FAILED", "a salvage session only reads");
  }

  sealingSpec(): SealingSpec {
    throw new SuedeError("FAILED", "a salvage session only reads");
  }
}

/** A run this long of one byte value never occurs in a record prefix (salt and ciphertext are uniform: p ≈ 2^-50). */
const RUN_BYTES = 8;

/**
 * The next offset worth trying after a failed one at `at` (relative to `bytes`): every start whose
 * prefix would contain a run of RUN_BYTES equal bytes is skipped, so zeroed or constant-filled
 * stretches — the usual shape of damage — cost one try per run, not one per byte.
 */
export function nextCandidate(bytes: Uint8Array, at: number): number {
  const windowEnd = Math.min(bytes.byteLength, at + RECORD_PREFIX_SIZE_BYTES);
  let runStart = at;
  for (let i = at + 1; i < windowEnd; i++) {
    if (bytes[i] !== bytes[runStart]) {
      runStart = i;
      continue;
    }
    if (i - runStart + 1 < RUN_BYTES) continue;
    let end = i + 1;
    while (end < bytes.byteLength && bytes[end] === bytes[runStart]) end++;
    return Math.max(at + 1, end - RUN_BYTES + 1);
  }
  return at + 1;
}

async function scanAll(file: VaultFile, keys: RecordKeys) {
  const fileSize = await file.sizeBytes();
  const locations = new Map<string, Location[]>();
  const snapshotIds: BlobId[] = [];
  const records = { data: 0, tree: 0, snapshot: 0, other: 0 };
  const unreadableRanges: { offset: number; length: number }[] = [];
  let unreadableBytes = 0;
  let badStart = -1;
  let window: Buffer = Buffer.alloc(0);
  let windowStart = 0;
  const prefixAt = async (offset: number): Promise<Buffer> => {
    if (offset < windowStart || offset + RECORD_PREFIX_SIZE_BYTES > windowStart + window.byteLength) {
      windowStart = offset;
      window = await file.readAt(offset, Math.min(SCAN_WINDOW_BYTES, fileSize - offset));
    }
    return window.subarray(offset - windowStart, offset - windowStart + RECORD_PREFIX_SIZE_BYTES);
  };
  const endBad = (at: number) => {
    if (badStart < 0) return;
    unreadableBytes += at - badStart;
    if (unreadableRanges.length < 100) unreadableRanges.push({ offset: badStart, length: at - badStart });
    badStart = -1;
  };
  let position = LOG_START_OFFSET;
  while (position + RECORD_OVERHEAD_BYTES <= fileSize) {
    const opened = openRecordHeader(keys, await prefixAt(position));
    const sizeBytes = typeof opened === "string" ? 0 : RECORD_OVERHEAD_BYTES + opened.header.paddedLength;
    if (typeof opened === "string" || position + sizeBytes > fileSize) {
      if (badStart < 0) badStart = position;
      await prefixAt(position);
      position = nextCandidate(window, position - windowStart) + windowStart;
      continue;
    }
    endBad(position);
    const { kind, id } = opened.header;
    if (BLOB_KINDS.has(kind)) {
      const key = toHex(id);
      const list = locations.get(key) ?? [];
      list.push({ offset: position, sizeBytes, kind });
      locations.set(key, list);
      if (kind === RecordKind.snapshot) snapshotIds.push(Uint8Array.from(id));
      records[kind === RecordKind.data ? "data" : kind === RecordKind.tree ? "tree" : "snapshot"]++;
    } else {
      records.other++;
    }
    position += sizeBytes;
  }
  if (position < fileSize && badStart < 0) badStart = position;
  endBad(fileSize);
  return { locations, snapshotIds, scan: { records, unreadableBytes, unreadableRanges } };
}
