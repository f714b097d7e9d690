/**
 * A vault: one file, opened for reading or (under the lock) for writing. Implements the BlobStore
 * port. Commit protocol (FORMAT.md §9): data records → fdatasync → index records + checkpoint →
 * fdatasync → superblock slot (sequence mod 2) → fdatasync. Opening recovers per recover.ts.
 */
import { link, open as openFile, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { blobIdHasher, type BlobIdHasher } from "../crypto/blob-id.ts";
import { type KdfParams, KDF_SALT_SIZE_BYTES, deriveKek } from "../crypto/kdf.ts";
import { type VaultKeys, deriveVaultKeys } from "../crypto/keys.ts";
import type { BlobId } from "../core/ids.ts";
import type { BlobKind, BlobStore, SealingSpec } from "../core/ports.ts";
import { SuedeError, VaultCorruptError, ioError, isErrno } from "../errors/errors.ts";
import { assert } from "../util/assert.ts";
import { markPhase } from "../util/phase.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import type { Clock } from "../util/clock.ts";
import type { Random } from "../util/random.ts";
import { BlobIndex, LiveSet } from "./blob-index.ts";
import { planCompaction } from "./cleaner.ts";
import { type Checkpoint, type IdentityKeys, type RecordSpan, type SnapshotRef, encodeCheckpoint, encodeSuperblock } from "./checkpoint.ts";
import { COMPRESSION_LEVEL_DEFAULT, Codec } from "./compress.ts";
import {
  FORMAT_VERSION,
  HEADER_COPY_OFFSETS,
  HEADER_COPY_SIZE_BYTES,
  INDEX_ENTRIES_PER_RECORD_MAX,
  INDEX_RECORDS_MERGE_THRESHOLD,
  KEY_SLOT_COUNT,
  LOG_START_OFFSET,
  RECORD_OVERHEAD_BYTES,
  RecordKind,
  type RecordKindCode,
  SUPERBLOCK_SLOT_OFFSETS,
  SUPERBLOCK_SLOT_SIZE_BYTES,
} from "./format.ts";
import { type KeySlot, type SlotKind, type VaultHeader, encodeHeaderCopy, headerMac, slotCreatedMs, wrapMasterKey } from "./header.ts";
import { VaultLock } from "./lock.ts";
import { type EarlyUnlock, unlockOpened } from "./unlock.ts";
import { type RecordKeys, sealPadding, sealRecord } from "./record.ts";
import { type CommittedState, type IndexLoad, authenticRecordAt, loadCommittedState, readBestSuperblock, readHeader, readRecordBody, unlockHeader } from "./recover.ts";
import { BLOB_ID_SIZE_BYTES, openBlob, openStored } from "./open-record.ts";
import { RecordReader, type StartedOpenWorker } from "./record-reader.ts";
import { sealBlob } from "./seal.ts";
import { VaultFile, syncDirectory } from "./vault-file.ts";
import { WriteBatch } from "./write-batch.ts";

/** A blob's record payload as stored: compressed (flags say how), before sealing. */
export interface StoredPayload {
  readonly kind: RecordKindCode;
  readonly flags: number;
  readonly payload: Uint8Array;
  readonly rawLength: number;
}

export interface VaultDeps {
  readonly clock: Clock;
  readonly random: Random;
}

export interface CreateVaultOptions {
  readonly secret: Uint8Array;
  readonly slotKind: SlotKind;
  readonly kdf: KdfParams;
  readonly deps: VaultDeps;
  /** A re-key's new file keeps its vault's ID and identity keys (rekey.ts); a new vault gets fresh ones. */
  readonly rekeyOf?: { readonly vaultId: Uint8Array; readonly identityKeys: IdentityKeys };
}

export interface OpenVaultOptions {
  readonly secret: Uint8Array;
  readonly writable: boolean;
  readonly deps: VaultDeps;
  readonly compressionLevel?: number;
  /**
   * Open for `check --repair`: a writer on a vault whose committed state is damaged. Nothing after
   * the last readable commit is truncated when authentic records follow it (they may be the only
   * copy of a lost commit); new records are appended after the whole file instead.
   */
  readonly repair?: boolean;
  /**
   * Read-only opens only: "snapshots" loads just the snapshot entries of the index (every index
   * record is still read and checked), so listing snapshots of a vault of millions of blobs stays
   * fast; the rest loads on first need (`loadIndex`, or any blob read). Default "full".
   */
  readonly indexLoad?: IndexLoad;
  /** Started before this open with the same secret: its KDF result is used if the header is unchanged. */
  readonly earlyUnlock?: EarlyUnlock;
}

const KIND_CODE: Readonly<Record<BlobKind, RecordKindCode>> = {
  data: RecordKind.data,
  tree: RecordKind.tree,
  snapshot: RecordKind.snapshot,
};

/**
 * Records are gathered into one positioned writev of about this size (and at most two are
 * unwritten). 1 MiB, not 4: the batch and the two behind it are all record buffers the main thread
 * holds, and 4 MiB batches cost 6 MiB of peak RSS on a first backup of 303 MB for no measured
 * speed (issue 5: ~130 writevs instead of ~33, each with its superblock check).
 */
const WRITE_BATCH_BYTES = 1024 * 1024;

export async function makeKeySlot(
  secret: Uint8Array,
  slotKind: SlotKind,
  kdf: KdfParams,
  vaultId: Uint8Array,
  master: Uint8Array,
  deps: VaultDeps,
): Promise<KeySlot> {
  const salt = deps.random.bytes(KDF_SALT_SIZE_BYTES);
  const kek = await deriveKek(secret, salt, kdf);
  const headerMacKey = deriveVaultKeys(master, vaultId).headerMac;
  return wrapMasterKey(kek, vaultId, { kind: slotKind, kdf, salt, nonce: deps.random.bytes(12) }, master, deps.clock.nowMs(), headerMacKey);
}

export interface StorageStats {
  readonly blobs: number;
  readonly dataBlobs: number;
  readonly rawBytes: number;
  readonly storedBytes: number;
  readonly dataRawBytes: number;
  /** Stored bytes of the blobs in the live set given (all indexed blobs when none is). */
  readonly referencedBytes: number;
  /** Committed log bytes used by neither those blobs nor the current metadata. */
  readonly garbageBytes: number;
  readonly indexMemoryBytes: number;
}

export class Vault implements BlobStore {
  /** The blob index; while indexComplete is false, only its snapshot entries (see OpenVaultOptions.indexLoad). */
  private index: BlobIndex;
  private indexComplete: boolean;
  private readonly codec: Codec;
  private readonly hashBlobId: BlobIdHasher;
  /** Data blob IDs a worker is sealing for this session (claimBlob), so one blob is never stored twice. */
  private readonly claimed = new Set<string>();
  /** Index entry numbers of the blobs appended since the last commit (4 bytes each, no objects). */
  private newEntries = new Int32Array(1024);
  private newEntryCount = 0;
  private readonly batch = new WriteBatch();
  private batchOffset: number;
  private appendOffset: number;
  private writeChain: Promise<void> = Promise.resolve();
  private writeError: unknown = null;
  private snapshotRefs: SnapshotRef[];
  private nextSnapshot: number;
  /** Bytes handed to the write chain and not yet written (backpressure for putBlob). */
  private unwrittenBytes = 0;
  private closed = false;
  private readonly reader: RecordReader;

  private constructor(
    readonly path: string,
    private readonly file: VaultFile,
    private readonly lock: VaultLock | null,
    private header: VaultHeader,
    private readonly master: Uint8Array,
    readonly unlockedSlot: number,
    readonly keys: VaultKeys,
    private committed: CommittedState,
    /** Newest valid superblock sequence this writer saw at open or wrote itself (checked before every write). */
    private superblockSequence: number | null,
    private readonly deps: VaultDeps,
    readonly compressionLevel: number,
    /** Problems met while opening that did not stop it (a damaged header copy, a lost checkpoint). */
    readonly warnings: readonly string[],
  ) {
    this.index = committed.index;
    this.indexComplete = committed.indexComplete;
    this.codec = new Codec(compressionLevel);
    this.reader = new RecordReader(file, this.recordKeys, this.codec);
    this.hashBlobId = blobIdHasher(keys.blobId);
    this.batchOffset = committed.logEnd;
    this.appendOffset = committed.logEnd;
    this.snapshotRefs = [...committed.checkpoint.snapshots];
    this.nextSnapshot = committed.checkpoint.nextSnapshotNumber;
  }

  get recordKeys(): RecordKeys {
    return { vaultId: this.header.vaultId, recordBase: this.keys.record };
  }

  get vaultId(): Uint8Array {
    return this.header.vaultId;
  }

  get vaultHeader(): VaultHeader {
    return this.header;
  }


  /** Creates a vault atomically: written under a temporary name, then linked into place. */
  static async create(path: string, options: CreateVaultOptions): Promise<void> {
    const { deps } = options;
    const vaultId = options.rekeyOf?.vaultId ?? deps.random.bytes(16);
    const master = deps.random.bytes(32);
    const keys = deriveVaultKeys(master, vaultId);
    const slot = await makeKeySlot(options.secret, options.slotKind, options.kdf, vaultId, master, deps);
    const slots: (KeySlot | null)[] = Array.from({ length: KEY_SLOT_COUNT }, () => null);
    slots[0] = slot;
    const unsigned: VaultHeader = { formatVersion: FORMAT_VERSION, sequence: 1, vaultId, slots, mac: new Uint8Array(32) };
    const header: VaultHeader = { ...unsigned, mac: headerMac(keys.headerMac, unsigned) };
    const recordKeys: RecordKeys = { vaultId, recordBase: keys.record };
    const checkpoint: Checkpoint = {
      sequence: 1,
      previousOffset: 0,
      selfOffset: LOG_START_OFFSET,
      timeMs: deps.clock.nowMs(),
      nextSnapshotNumber: 1,
      snapshots: [],
      indexRecords: [],
      ...(options.rekeyOf !== undefined ? { identityKeys: options.rekeyOf.identityKeys } : {}),
    };
    const checkpointRecord = sealMeta(recordKeys, deps.random, RecordKind.checkpoint, encodeCheckpoint(checkpoint));
    const superblock = sealMeta(recordKeys, deps.random, RecordKind.superblock, encodeSuperblock({
      sequence: 1,
      checkpointOffset: LOG_START_OFFSET,
      checkpointLength: checkpointRecord.byteLength,
    }));
    try {
      await openFile(path, "r").then((h) => h.close());
      throw new SuedeError("VAULT_EXISTS", `refusing to overwrite existing file ${path}`);
    } catch (error) {
      if (!isErrno(error, "ENOENT")) throw error;
    }
    const temporary = `${path}.${toHex(deps.random.bytes(6))}.tmp`;
    const file = await VaultFile.open(temporary, { writable: true, create: true });
    try {
      await file.writeAt(HEADER_COPY_OFFSETS[0], [encodeHeaderCopy(header, 0)]);
      await file.writeAt(HEADER_COPY_OFFSETS[1], [encodeHeaderCopy(header, 1)]);
      await file.writeAt(SUPERBLOCK_SLOT_OFFSETS[1], [superblock]);
      await file.writeAt(LOG_START_OFFSET, [checkpointRecord]);
      await file.sync();
      await file.close();
      try {
        await link(temporary, path);
      } catch (error) {
        if (isErrno(error, "EEXIST")) throw new SuedeError("VAULT_EXISTS", `refusing to overwrite existing file ${path}`);
        throw ioError(`creating ${path}`, error);
      }
      await syncDirectory(dirname(path));
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  static async open(path: string, options: OpenVaultOptions): Promise<Vault> {
    const { deps } = options;
    assert(!options.writable || (options.indexLoad ?? "full") === "full", "a writer loads the whole index");
    const lock = options.writable ? await VaultLock.acquire(path, deps.clock.nowMs()) : null;
    let file: VaultFile | null = null;
    try {
      file = await VaultFile.open(path, { writable: options.writable });
      const { header, unlocked, keys: derivedKeys, warnings: macWarnings, headerWarnings } = await unlockOpened(file, options.secret, options.earlyUnlock);
      markPhase("unlocked");
      const recordKeys: RecordKeys = { vaultId: header.vaultId, recordBase: derivedKeys.record };
      const { superblock, committed } = await loadSettledState(file, recordKeys, options.writable, options.indexLoad ?? "full");
      const keys: VaultKeys = { ...derivedKeys, ...committed.checkpoint.identityKeys };
      const warnings = [...headerWarnings, ...macWarnings, ...committed.warnings];
      let appendAt = committed.logEnd;
      if (options.writable) {
        if (committed.damaged && options.repair !== true) {
          throw new VaultCorruptError(committed.logEnd, `${committed.warnings.join("; ")}; refusing to write (run suede check --repair)`);
        }
        const size = await file.sizeBytes();
        if (size > committed.logEnd) {
          if (options.repair === true && committed.damaged && (await authenticRecordAt(file, recordKeys, committed.logEnd))) appendAt = size;
          // Otherwise whatever follows the last commit is an interrupted session's tail: drop it.
          else await file.truncate(committed.logEnd);
        }
      }
      const vault = new Vault(
        path,
        file,
        lock,
        header,
        unlocked.master,
        unlocked.slotIndex,
        keys,
        committed,
        superblock?.sequence ?? null,
        deps,
        options.compressionLevel ?? COMPRESSION_LEVEL_DEFAULT,
        warnings,
      );
      vault.batchOffset = appendAt;
      vault.appendOffset = appendAt;
      return vault;
    } catch (error) {
      await file?.close();
      await lock?.release();
      throw error;
    }
  }

  // ---- BlobStore ----

  blobId(plaintext: Uint8Array): BlobId {
    return this.hashBlobId(plaintext);
  }

  hasBlob(id: BlobId): boolean {
    return this.loadedIndex().has(id) || this.claimed.has(toHex(id));
  }

  claimBlob(id: BlobId): boolean {
    this.assertWritable();
    if (this.hasBlob(id)) return false;
    this.claimed.add(toHex(id));
    return true;
  }

  sealingSpec(): SealingSpec {
    return {
      recordKeys: this.recordKeys,
      compressionLevel: this.compressionLevel,
      chunkerKey: this.keys.chunker,
      blobIdKey: this.keys.blobId,
    };
  }

  async putSealedBlob(id: BlobId, record: Uint8Array, rawLength: number): Promise<number> {
    const added = this.putSealedBlobNow(id, record, rawLength);
    // Backpressure: a slow disk makes the pipeline wait instead of letting the write queue grow.
    const behind = this.writesBehind();
    if (behind !== null) await behind;
    return added;
  }

  putSealedBlobNow(id: BlobId, record: Uint8Array, rawLength: number): number {
    this.assertWritable();
    assert(this.claimed.delete(toHex(id)), "putSealedBlob of a blob that was not claimed");
    return this.append(RecordKind.data, id, record, rawLength);
  }

  writesBehind(): Promise<void> | null {
    return this.unwrittenBytes > 2 * WRITE_BATCH_BYTES ? this.writeChain : null;
  }

  /** Seals on this thread: trees, snapshots and the odd data blob (workers seal the bulk). */
  async putBlob(kind: BlobKind, id: BlobId, plaintext: Uint8Array): Promise<number> {
    this.assertWritable();
    if (this.hasBlob(id)) return 0;
    const kindCode = KIND_CODE[kind];
    const sealed = sealBlob(this.recordKeys, this.deps.random, this.codec, kindCode, id, plaintext);
    const added = this.append(kindCode, id, sealed.record, sealed.rawLength);
    if (this.unwrittenBytes > 2 * WRITE_BATCH_BYTES) await this.writeChain;
    return added;
  }

  private append(kind: RecordKindCode, id: Uint8Array, record: Uint8Array, rawLength: number): number {
    const offset = this.appendOffset;
    this.appendOffset += record.byteLength;
    this.batch.add(record);
    const entry = this.index.set(id, { offset, recordLength: record.byteLength, rawLength, kind });
    if (this.newEntryCount === this.newEntries.length) {
      const grown = new Int32Array(this.newEntries.length * 2);
      grown.set(this.newEntries);
      this.newEntries = grown;
    }
    this.newEntries[this.newEntryCount++] = entry;
    if (this.batch.bytes >= WRITE_BATCH_BYTES) void this.flush().catch(() => undefined);
    return record.byteLength;
  }

  /** Starts writing the current batch; writes are chained so the log stays in order. */
  private flush(): Promise<void> {
    if (this.batch.bytes > 0) {
      const offset = this.batchOffset;
      const sizeBytes = this.batch.bytes;
      const buffers = this.batch.take();
      this.batchOffset += sizeBytes;
      this.unwrittenBytes += sizeBytes;
      this.writeChain = this.writeChain.then(async () => {
        if (this.writeError !== null) throw this.writeError;
        try {
          // Never write over a commit made by a writer that got past the lock.
          await this.assertUnchanged();
          await this.file.writeAt(offset, buffers);
          this.unwrittenBytes -= sizeBytes;
        } catch (error) {
          this.writeError = error;
          throw error;
        }
      });
    }
    return this.writeChain;
  }

  /** Bytes written to the log but not yet committed, plus what is queued for writing. */
  get pendingBytes(): number {
    return this.appendOffset - this.committed.logEnd;
  }

  /** Gives the record reader an open worker started during the unlock (a restore's, issue 5). */
  adoptOpenWorker(started: StartedOpenWorker): void {
    this.reader.adopt(started);
  }

  getBlob(id: BlobId): Promise<Uint8Array> {
    // A committed record (a restore's every read) is read without locate's and retrying's async
    // steps: ~26 MB of frames and promises per usr restore (issue 5). A failure retries as before.
    // An ID of another length takes the async path, where the index's assert becomes a rejection.
    const location = id.byteLength === BLOB_ID_SIZE_BYTES ? this.index.get(id) : undefined;
    if (location === undefined || location.offset + location.recordLength > this.batchOffset || location.offset >= this.committed.logEnd) {
      return this.retrying(() => this.readLocated(id));
    }
    const read = this.reader.read(location.offset, location.recordLength, id, location.kind);
    if (this.lock !== null) return read;
    const seen = this.superblockSequence;
    return read.catch((error: unknown) => this.retrying(() => this.readLocated(id), { error, seen }));
  }

  private async readLocated(id: BlobId): Promise<Uint8Array> {
    return this.reader.read(...(await this.locate(id)));
  }

  /**
   * Writes a blob's plaintext at position of the open file fd (by the thread that opens its record,
   * so a big file's bytes never pass through this thread) and resolves to its length. The caller
   * keeps fd open until this settles.
   */
  async writeBlobTo(id: BlobId, fd: number, position: number): Promise<number> {
    return this.retrying(async () => this.reader.readTo(...(await this.locate(id)), fd, position));
  }

  /** failed: a first attempt made by the caller, which failed under commit seen. */
  private async retrying<T>(read: () => Promise<T>, failed?: { error: unknown; seen: number | null }): Promise<T> {
    if (this.lock !== null) return read();
    for (let attempt = 1; ; attempt++) {
      let seen = this.superblockSequence;
      let error: unknown;
      if (failed === undefined) {
        try {
          return await read();
        } catch (thrown) {
          error = thrown;
        }
      } else {
        ({ error, seen } = failed);
        failed = undefined;
      }
      // A reader racing a prune may hold offsets the cleaner has since reused or cut off: follow
      // the newest commit and try again while commits keep coming (bounded). A failure under an
      // unchanged commit is damage. "Changed" is judged against the commit this read used: a
      // concurrent read may have refreshed already. Records are authenticated by ID: a stale
      // offset never yields another blob's bytes.
      if (attempt >= READER_RETRY_LIMIT) throw error;
      try {
        await this.refresh();
      } catch {
        // The superblock cannot be read either (a failing disk): report the read that failed first.
        throw error;
      }
      if (this.superblockSequence === seen) throw error;
    }
  }

  /**
   * Read-only sessions: loads the newest commit if another process committed since open or the
   * last refresh. Returns whether anything changed. Writers never need it (they hold the lock).
   */
  async refresh(): Promise<boolean> {
    // One refresh at a time (concurrent reads fail together); each caller's starts after its call.
    while (this.refreshing !== null) await this.refreshing.catch(() => undefined);
    this.refreshing = this.refreshNow();
    try {
      return await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  private refreshing: Promise<boolean> | null = null;

  private async refreshNow(): Promise<boolean> {
    assert(!this.closed, "vault is closed");
    if (this.lock !== null) return false;
    const onDisk = await readBestSuperblock(this.file, this.recordKeys);
    if (onDisk === null || onDisk.sequence === this.superblockSequence) return false;
    const { superblock, committed } = await loadSettledState(this.file, this.recordKeys, false, this.indexComplete ? "full" : "snapshots");
    this.adopt(committed, superblock?.sequence ?? onDisk.sequence);
    return true;
  }

  private adopt(committed: CommittedState, superblockSequence: number | null): void {
    this.committed = committed;
    this.index = committed.index;
    this.indexComplete = committed.indexComplete;
    this.batchOffset = committed.logEnd;
    this.appendOffset = committed.logEnd;
    this.snapshotRefs = [...committed.checkpoint.snapshots];
    this.nextSnapshot = committed.checkpoint.nextSnapshotNumber;
    this.superblockSequence = superblockSequence;
  }

  /**
   * Loads the whole index of a session opened with indexLoad "snapshots" (a no-op otherwise).
   * Read-only, so it loads the newest commit: the snapshot list may have grown meanwhile.
   */
  async loadIndex(): Promise<void> {
    if (this.indexComplete) return;
    assert(!this.closed, "vault is closed");
    // One load at a time, shared with refresh (both replace the committed state).
    while (this.refreshing !== null) await this.refreshing.catch(() => undefined);
    if (this.indexComplete) return;
    this.refreshing = (async () => {
      const { superblock, committed } = await loadSettledState(this.file, this.recordKeys, false, "full");
      this.adopt(committed, superblock?.sequence ?? this.superblockSequence);
      return true;
    })();
    try {
      await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  /** The whole index; sessions opened with indexLoad "snapshots" call loadIndex first. */
  private loadedIndex(): BlobIndex {
    assert(this.indexComplete, "the blob index is not loaded yet (Vault.loadIndex)");
    return this.index;
  }

  /** Where blob id's record is, once it is on disk: the record reader's first four arguments. */
  private async locate(id: BlobId): Promise<[number, number, BlobId, RecordKindCode]> {
    if (!this.indexComplete && !this.index.has(id)) await this.loadIndex();
    const location = this.index.get(id);
    if (location === undefined) {
      throw new VaultCorruptError(0, `blob ${toHex(id).slice(0, 16)}… is referenced but not in the index`);
    }
    if (location.offset + location.recordLength > this.batchOffset) await this.flush();
    else if (location.offset >= this.committed.logEnd) await this.writeChain;
    return [location.offset, location.recordLength, id, location.kind];
  }

  /** Authenticates a record read from offset and checks it is the blob the index promised. */
  openBlobRecord(record: Uint8Array, offset: number, id: Uint8Array, kind: RecordKindCode): Uint8Array {
    const raw = openBlob(this.recordKeys, this.codec, record, id, kind);
    if (raw instanceof Uint8Array) return raw;
    throw new VaultCorruptError(offset, raw.problem, raw.cause === undefined ? undefined : { cause: new Error(raw.cause) });
  }

  /** Like openBlobRecord, but returns the payload as stored (still compressed): a re-key re-seals it as is. */
  openStoredRecord(record: Uint8Array, offset: number, id: Uint8Array, kind: RecordKindCode): StoredPayload {
    const stored = openStored(this.recordKeys, record, id, kind);
    if (!("payload" in stored)) throw new VaultCorruptError(offset, stored.problem);
    return stored;
  }

  /** Appends a blob already stored in another vault, sealed anew under this vault's keys (re-key). */
  async putStoredBlob(id: BlobId, stored: StoredPayload): Promise<number> {
    this.assertWritable();
    if (this.hasBlob(id)) return 0;
    const record = sealRecord(this.recordKeys, this.deps.random, { ...stored, id });
    const added = this.append(stored.kind, id, record, stored.rawLength);
    if (this.unwrittenBytes > 2 * WRITE_BATCH_BYTES) await this.writeChain;
    return added;
  }

  // ---- key slots (FORMAT.md §3): rewrite only the header, never the data ----

  /** Active slots with their number, kind, KDF and creation time (never key material). */
  keySlots(): { index: number; kind: SlotKind; kdf: KdfParams; createdMs: number | null; unlocked: boolean }[] {
    const slots: { index: number; kind: SlotKind; kdf: KdfParams; createdMs: number | null; unlocked: boolean }[] = [];
    this.header.slots.forEach((slot, index) => {
      if (slot !== null) {
        slots.push({ index, kind: slot.kind, kdf: slot.kdf, createdMs: slotCreatedMs(this.keys.headerMac, slot), unlocked: index === this.unlockedSlot });
      }
    });
    return slots;
  }

  /** Adds a slot for another passphrase or key file; returns its index. */
  async addKeySlot(secret: Uint8Array, slotKind: SlotKind, kdf: KdfParams): Promise<number> {
    this.assertWritable();
    const index = this.header.slots.findIndex((slot) => slot === null);
    if (index < 0) throw new SuedeError("FAILED", `all ${KEY_SLOT_COUNT} key slots are in use; remove one first`);
    const slot = await makeKeySlot(secret, slotKind, kdf, this.header.vaultId, this.master, this.deps);
    await this.writeSlots(this.header.slots.map((s, i) => (i === index ? slot : s)));
    return index;
  }

  /** Empties a slot (its bytes are zeroed in both header copies). The last slot cannot go. */
  async removeKeySlot(index: number): Promise<void> {
    this.assertWritable();
    if (this.header.slots[index] === null || this.header.slots[index] === undefined) throw new SuedeError("USAGE", `key slot ${index} is not in use`);
    if (this.header.slots.filter((s) => s !== null).length === 1) throw new SuedeError("FAILED", "refusing to remove the last key slot: the vault could never be opened again");
    await this.writeSlots(this.header.slots.map((s, i) => (i === index ? null : s)));
  }

  /** Replaces the slot at index with a new secret, in one header write. */
  async replaceKeySlot(index: number, secret: Uint8Array, slotKind: SlotKind, kdf: KdfParams): Promise<void> {
    this.assertWritable();
    if (this.header.slots[index] === null || this.header.slots[index] === undefined) throw new SuedeError("USAGE", `key slot ${index} is not in use`);
    const slot = await makeKeySlot(secret, slotKind, kdf, this.header.vaultId, this.master, this.deps);
    await this.writeSlots(this.header.slots.map((s, i) => (i === index ? slot : s)));
  }

  /**
   * Writes a new header (sequence + 1) to copy 0, syncs, then to copy 1, syncs. A crash between
   * the two leaves one old and one new copy, both valid: the old secrets open the old copy and the
   * new ones the new copy, so no key that worked stops working.
   */
  private async writeSlots(slots: readonly (KeySlot | null)[]): Promise<void> {
    const unsigned: VaultHeader = { ...this.header, sequence: this.header.sequence + 1, slots, mac: new Uint8Array(32) };
    const header: VaultHeader = { ...unsigned, mac: headerMac(this.keys.headerMac, unsigned) };
    await this.file.writeAt(HEADER_COPY_OFFSETS[0], [encodeHeaderCopy(header, 0)]);
    await this.file.sync();
    await this.file.writeAt(HEADER_COPY_OFFSETS[1], [encodeHeaderCopy(header, 1)]);
    await this.file.sync();
    this.header = header;
  }

  // ---- repair (check --repair): what a damaged open tells, and rewrites from the good copy ----

  /** True when the committed state was found damaged at open (writers other than repair refuse). */
  get damaged(): boolean {
    return this.committed.damaged;
  }

  /** True when the committed index records were unreadable and the index came from a log scan. */
  get indexRebuilt(): boolean {
    return this.committed.indexRebuilt;
  }

  /** Header copies that do not hold exactly the header in use (damaged, or older after a torn write). */
  async staleHeaderCopies(): Promise<number[]> {
    const stale: number[] = [];
    for (const copy of [0, 1] as const) {
      const onDisk = await this.file.readAt(HEADER_COPY_OFFSETS[copy], HEADER_COPY_SIZE_BYTES);
      if (!bytesEqual(onDisk, encodeHeaderCopy(this.header, copy))) stale.push(copy);
    }
    return stale;
  }

  /** Rewrites both header copies from the one in use (same slots, sequence + 1; torn-safe, see writeSlots). */
  async rewriteHeader(): Promise<void> {
    this.assertWritable();
    await this.writeSlots(this.header.slots);
  }

  /** Superblock slots that were written but do not authenticate (a never-written slot is all zeros). */
  async damagedSuperblockSlots(): Promise<number[]> {
    const damaged: number[] = [];
    for (const [slot, offset] of SUPERBLOCK_SLOT_OFFSETS.entries()) {
      const bytes = await this.file.readAt(offset, SUPERBLOCK_SLOT_SIZE_BYTES);
      if (bytes.every((b) => b === 0)) continue;
      if (typeof (await readRecordBody(this.file, this.recordKeys, offset, RecordKind.superblock)) === "string") damaged.push(slot);
    }
    return damaged;
  }

  // ---- snapshots list ----

  get snapshots(): readonly SnapshotRef[] {
    return this.snapshotRefs;
  }

  allocateSnapshotNumber(): number {
    this.assertWritable();
    return this.nextSnapshot++;
  }

  setSnapshots(refs: readonly SnapshotRef[]): void {
    this.assertWritable();
    this.snapshotRefs = [...refs].sort((a, b) => a.number - b.number);
  }

  get nextSnapshotNumber(): number {
    return this.nextSnapshot;
  }

  /** A re-key's new file takes over the old one's snapshot list and numbering. */
  adoptSnapshots(refs: readonly SnapshotRef[], nextSnapshotNumber: number): void {
    this.setSnapshots(refs);
    this.nextSnapshot = nextSnapshotNumber;
  }

  /** Keys a re-key must carry over so blob IDs and chunk boundaries stay the same. */
  get identityKeys(): IdentityKeys {
    return { blobId: this.keys.blobId, chunker: this.keys.chunker };
  }

  /** KDF parameters of the slot that unlocked this session. */
  get unlockedSlotKdf(): KdfParams {
    const slot = this.header.slots[this.unlockedSlot];
    assert(slot !== null && slot !== undefined, "unlocked slot is empty");
    return slot.kdf;
  }


  /** Committed checkpoint sequence and index record places (fault tests inspect them). */
  get committedSequence(): number {
    return this.committed.checkpoint.sequence;
  }

  get indexRecordSpans(): readonly RecordSpan[] {
    return this.committed.checkpoint.indexRecords;
  }

  get fileEnd(): number {
    return this.committed.logEnd;
  }

  get blobIndex(): BlobIndex {
    return this.loadedIndex();
  }


  get checkpointOffset(): number {
    return this.committed.checkpointOffset;
  }

  fileIdentity(): Promise<{ device: bigint; inode: bigint; realPath: string; sizeBytes: number }> {
    return this.file.identity();
  }

  /** Raw bytes of the file, for check and salvage. */
  readRaw(offset: number, length: number): Promise<Buffer> {
    return this.file.readAt(offset, length);
  }

  private assertWritable(): void {
    assert(!this.closed, "vault is closed");
    if (this.lock === null) throw new SuedeError("FAILED", "vault was opened read-only");
  }

  /**
   * Makes everything appended so far durable and current. Returns only after the superblock is
   * on disk: a caller may then report "saved".
   */
  async commit(options: { fullIndex?: boolean } = {}): Promise<void> {
    this.assertWritable();
    assert(this.claimed.size === 0, `commit with ${this.claimed.size} claimed blob(s) not delivered`);
    await this.flush();
    await this.file.sync();
    markPhase("data synced");
    await this.assertUnchanged();
    const indexRecords = await this.writeIndexRecords(options.fullIndex ?? false);
    const sequence = this.committed.checkpoint.sequence + 1;
    const checkpointOffset = this.appendOffset;
    const checkpoint: Checkpoint = {
      sequence,
      previousOffset: this.committed.checkpointOffset,
      selfOffset: checkpointOffset,
      timeMs: this.deps.clock.nowMs(),
      nextSnapshotNumber: this.nextSnapshot,
      snapshots: this.snapshotRefs,
      indexRecords,
      ...(this.committed.checkpoint.identityKeys !== undefined ? { identityKeys: this.committed.checkpoint.identityKeys } : {}),
    };
    const checkpointRecord = sealMeta(this.recordKeys, this.deps.random, RecordKind.checkpoint, encodeCheckpoint(checkpoint));
    this.appendOffset += checkpointRecord.byteLength;
    this.batch.add(checkpointRecord);
    await this.flush();
    await this.file.sync();
    markPhase("checkpoint synced");
    const superblock = sealMeta(this.recordKeys, this.deps.random, RecordKind.superblock, encodeSuperblock({
      sequence,
      checkpointOffset,
      checkpointLength: checkpointRecord.byteLength,
    }));
    await this.file.writeAt(SUPERBLOCK_SLOT_OFFSETS[sequence % 2]!, [superblock]);
    await this.file.sync();
    this.superblockSequence = sequence;
    // A full index written from a rebuilt one, or any commit of a readable state, is whole again.
    const indexRebuilt = this.committed.indexRebuilt && options.fullIndex !== true;
    this.committed = {
      ...this.committed,
      checkpoint,
      checkpointOffset,
      logEnd: this.appendOffset,
      damaged: indexRebuilt,
      indexRebuilt,
    };
    this.newEntryCount = 0;
  }

  /** Compare-and-swap guard: the newest superblock must be the one this writer last saw or wrote. */
  private async assertUnchanged(): Promise<void> {
    const onDisk = await readBestSuperblock(this.file, this.recordKeys);
    if ((onDisk?.sequence ?? null) !== this.superblockSequence) {
      throw new SuedeError(
        "VAULT_CHANGED",
        `vault changed underneath this writer (superblock sequence ${this.superblockSequence ?? "none"} → ${onDisk?.sequence ?? "none"}); nothing was committed`,
      );
    }
  }

  /** Appends this commit's index records: the new entries, or the whole index when merging. */
  private async writeIndexRecords(fullIndex: boolean): Promise<RecordSpan[]> {
    let spans = [...this.committed.checkpoint.indexRecords];
    const index = this.index;
    const added = Math.ceil(this.newEntryCount / INDEX_ENTRIES_PER_RECORD_MAX);
    // Merge once the deltas outnumber the threshold beyond what a merged index itself needs.
    const merged = Math.ceil(index.size / INDEX_ENTRIES_PER_RECORD_MAX);
    const whole = fullIndex || spans.length + added > merged + INDEX_RECORDS_MERGE_THRESHOLD;
    if (whole) spans = [];
    const count = whole ? index.size : this.newEntryCount;
    // Record bodies are encoded straight from the index pages, one record at a time.
    for (let start = 0; start < count; start += INDEX_ENTRIES_PER_RECORD_MAX) {
      const end = Math.min(count, start + INDEX_ENTRIES_PER_RECORD_MAX);
      const body = whole ? index.encodeRange(start, end) : index.encodeList(this.newEntries.subarray(start, end));
      const record = sealMeta(this.recordKeys, this.deps.random, RecordKind.index, body);
      spans.push({ offset: this.appendOffset, length: record.byteLength });
      this.appendOffset += record.byteLength;
      this.batch.add(record);
      // The index of a million blobs is 52 MB: write it as it is sealed, never holding more than two batches.
      if (this.batch.bytes >= WRITE_BATCH_BYTES) void this.flush().catch(() => undefined);
      if (this.unwrittenBytes > 2 * WRITE_BATCH_BYTES) await this.writeChain;
    }
    return spans;
  }

  // ---- the cleaner (FORMAT.md §9.2): give the space of unreferenced records back ----

  /** A set of live blobs, one bit per index entry (prune marks what the snapshots reference). */
  newLiveSet(): LiveSet {
    return new LiveSet(this.loadedIndex());
  }

  /**
   * Sizes for `info`, in one pass over the index: unique blobs by kind, their raw (uncompressed)
   * and stored bytes, and — given the blobs the remaining snapshots reference — the stored bytes
   * referenced and the log bytes prune would give back (see garbageBytes).
   */
  storageStats(live: LiveSet | null): StorageStats {
    const index = this.loadedIndex();
    let dataBlobs = 0;
    let rawBytes = 0;
    let storedBytes = 0;
    let dataRawBytes = 0;
    let referencedBytes = 0;
    for (let entry = 0; entry < index.size; entry++) {
      const recordLength = index.recordLengthOf(entry);
      const rawLength = index.rawLengthOf(entry);
      rawBytes += rawLength;
      storedBytes += recordLength;
      if (live === null || live.hasEntry(entry)) referencedBytes += recordLength;
      if (index.kindOf(entry) === RecordKind.data) {
        dataBlobs++;
        dataRawBytes += rawLength;
      }
    }
    return {
      blobs: index.size,
      dataBlobs,
      rawBytes,
      storedBytes,
      dataRawBytes,
      referencedBytes,
      garbageBytes: this.committed.logEnd - LOG_START_OFFSET - referencedBytes - this.metadataBytes(),
      indexMemoryBytes: index.memoryBytes,
    };
  }

  get formatVersion(): number {
    return this.header.formatVersion;
  }

  /** Bytes in the committed log that no live blob (all indexed ones when live is null) or current metadata uses. */
  garbageBytes(live: LiveSet | null): number {
    return this.storageStats(live).garbageBytes;
  }

  private metadataBytes(): number {
    return this.committed.checkpoint.indexRecords.reduce((sum, span) => sum + span.length, 0) + (this.committed.logEnd - this.committed.checkpointOffset);
  }

  /**
   * Drops blobs outside `live` and shrinks the file, committing before anything it replaces is
   * released (FORMAT.md §9.4):
   *  1. commit an index without the dead blobs — their space is now unreferenced;
   *  2. copy live records from the top of the log into holes below them, and fill what is left of
   *     the holes with padding records (the log stays a run of whole records, so a scan works);
   *  3. commit an index pointing at the copies;
   *  4. write index and checkpoint right after the last live record, commit, truncate there.
   * Extra disk space needed: about three full indexes (52 bytes per live blob each).
   */
  async compact(live: LiveSet, options: { signal?: AbortSignal } = {}): Promise<{ bytesBefore: number; bytesAfter: number; recordsMoved: number }> {
    this.assertWritable();
    assert(this.newEntryCount === 0 && this.batch.bytes === 0 && this.claimed.size === 0, "compact needs a committed state");
    const bytesBefore = this.committed.logEnd;
    const cancelled = () => options.signal?.aborted === true;
    // Too little to gain to pay for the index written on the way: leave the file as it is.
    if (this.garbageBytes(live) < this.metadataBytes() + COMPACT_METADATA_SLACK_BYTES) return { bytesBefore, bytesAfter: bytesBefore, recordsMoved: 0 };
    // The live blobs as a new paged index (no object per blob); entry numbers are the plan's record numbers.
    const liveIndex = this.index.filtered((entry) => live.hasEntry(entry));
    const dropped = liveIndex.size < this.index.size;
    this.index = liveIndex;
    if (dropped) await this.commit({ fullIndex: true });
    if (cancelled()) throw new SuedeError("CANCELLED", "prune cancelled; unreferenced data was dropped from the index, the file was not shrunk");
    const metadata = [
      ...this.committed.checkpoint.indexRecords,
      { offset: this.committed.checkpointOffset, length: this.committed.logEnd - this.committed.checkpointOffset },
    ];
    const plan = planCompaction(liveIndex, metadata, { logStart: LOG_START_OFFSET, logEnd: this.committed.logEnd });
    const moves = plan.moveRecords.length;
    if (moves === 0 && plan.holes.length === 0) return { bytesBefore, bytesAfter: this.committed.logEnd, recordsMoved: 0 };
    await this.assertUnchanged();
    let sinceCheck = 0;
    for (let k = 0; k < moves; k++) {
      if (k === 0 || sinceCheck >= COMPACT_BATCH_BYTES) {
        if (cancelled()) throw new SuedeError("CANCELLED", "prune cancelled; copies made so far are unreferenced, the vault is at its last commit");
        sinceCheck = 0;
      }
      // Sources are read at their committed places: no move targets a live record, so none is overwritten yet.
      const from = liveIndex.offsetOf(plan.moveRecords[k]!);
      const length = liveIndex.recordLengthOf(plan.moveRecords[k]!);
      const record = await this.file.readAt(from, length);
      if (record.byteLength !== length) throw new VaultCorruptError(from, "record cut short");
      await this.file.writeAt(plan.moveTargets[k]!, [record]);
      sinceCheck += length;
    }
    for (const hole of plan.holes) await this.writePadding(hole.offset, hole.length);
    for (let k = 0; k < moves; k++) liveIndex.setOffset(plan.moveRecords[k]!, plan.moveTargets[k]!);
    await this.commit({ fullIndex: true });
    let liveEnd = LOG_START_OFFSET;
    for (let entry = 0; entry < liveIndex.size; entry++) liveEnd = Math.max(liveEnd, liveIndex.offsetOf(entry) + liveIndex.recordLengthOf(entry));
    const metadataStart = Math.min(...this.committed.checkpoint.indexRecords.map((s) => s.offset), this.committed.checkpointOffset);
    if (liveEnd + this.metadataBytes() + COMPACT_METADATA_SLACK_BYTES <= metadataStart) {
      this.appendOffset = liveEnd;
      this.batchOffset = liveEnd;
      await this.commit({ fullIndex: true });
    }
    await this.file.truncate(this.committed.logEnd);
    await this.file.sync();
    return { bytesBefore, bytesAfter: this.committed.logEnd, recordsMoved: moves };
  }

  /** Fills [offset, offset + length) with padding records of at most the largest record size. */
  private async writePadding(offset: number, length: number): Promise<void> {
    let at = offset;
    let left = length;
    while (left > 0) {
      let size = Math.min(left, PADDING_RECORD_MAX_BYTES);
      if (left - size > 0 && left - size < RECORD_OVERHEAD_BYTES) size = left - RECORD_OVERHEAD_BYTES;
      await this.file.writeAt(at, [sealPadding(this.recordKeys, this.deps.random, size)]);
      at += size;
      left -= size;
    }
  }

  /** Drops everything appended since the last commit (the tail is truncated at the next writer open). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.reader.close();
    await this.writeChain.catch(() => undefined);
    // An interrupted session's appends are not committed: give their space back now (best effort;
    // the next writer would truncate them anyway).
    // Never when another writer has committed meanwhile: its commit lies beyond our logEnd.
    if (this.lock !== null && this.appendOffset > this.committed.logEnd) {
      await this.assertUnchanged()
        .then(() => this.file.truncate(this.committed.logEnd))
        .catch(() => undefined);
    }
    await this.file.close();
    await this.lock?.release();
  }
}

/** How often a reader reloads while writers keep committing under one read (FORMAT.md §9.5). */
const READER_RETRY_LIMIT = 8;

/**
 * The committed state and the superblock it came from. A reader (no lock) may load it while a
 * writer commits and prune truncates: the load is repeated while the superblock sequence moves
 * under it (bounded); an error or damage under an unchanged sequence is reported as it is.
 */
async function loadSettledState(file: VaultFile, keys: RecordKeys, writable: boolean, indexLoad: IndexLoad) {
  for (let attempt = 1; ; attempt++) {
    const superblock = await readBestSuperblock(file, keys);
    let committed: CommittedState;
    try {
      committed = await loadCommittedState(file, keys, indexLoad);
    } catch (error) {
      if (writable || attempt >= READER_RETRY_LIMIT) throw error;
      if ((await readBestSuperblock(file, keys))?.sequence === superblock?.sequence) throw error;
      continue;
    }
    if (writable || attempt >= READER_RETRY_LIMIT) return { superblock, committed };
    if ((await readBestSuperblock(file, keys))?.sequence === superblock?.sequence) return { superblock, committed };
  }
}

export { unlockVerified } from "./unlock.ts";

const PADDING_RECORD_MAX_BYTES = 16 * 1024 * 1024;

/** Bytes copied between cancellation checks during compaction, and room left for the index growing between the two commits. */
const COMPACT_BATCH_BYTES = 16 * 1024 * 1024;
const COMPACT_METADATA_SLACK_BYTES = 4096;

function sealMeta(keys: RecordKeys, random: Random, kind: RecordKindCode, body: Uint8Array): Uint8Array {
  return sealRecord(keys, random, { kind, flags: 0, payload: body, rawLength: body.byteLength });
}

