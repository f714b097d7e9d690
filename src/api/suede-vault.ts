/**
 * The library surface: create, open, back up, list, browse, restore, check. The CLI (and later the
 * mount and the web UI) are thin front ends over this class; it is the one place that wires the
 * vault to the pipelines.
 */
import { hostname, userInfo } from "node:os";
import { resolve as resolvePath } from "node:path";
import ignore from "ignore";
import { type BackupProgress, backupTree, emptyProgress, type ErrorDecision } from "../backup/backup.ts";
import { FilePool, StartedFileWorker } from "../backup/file-pool.ts";
import { Prelister } from "../backup/prelist.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../chunker/params.ts";
import { type CheckReport, checkVault } from "../check/check.ts";
import { type RepairReport, repairVault } from "../check/repair.ts";
import { type StartedUnlock, secretBytes } from "./early-unlock.ts";
import { type SalvageOptions, type SalvageReport, salvageVault } from "./salvage.ts";
import { type BlobId, isHoleId } from "../core/ids.ts";
import type { BlobStore, SealingSpec } from "../core/ports.ts";
import type { Node, Snapshot } from "../core/types.ts";
import { type KdfParams, calibrateKdf, isBelowFloor } from "../crypto/kdf.ts";
import { SuedeError, VaultCorruptError } from "../errors/errors.ts";
import { NodeSourceFs } from "../fs/node-source-fs.ts";
import { NodeTargetFs, ensureDirectory, isEmptyDirectory } from "../fs/node-target-fs.ts";
import { displayPath } from "../fs/display-path.ts";
import { emptyRestoreProgress, type RestoreProgress, restoreTree } from "../restore/restore.ts";
import { decodeSnapshot, encodeSnapshot } from "../snapshot/snapshot-codec.ts";
import { type Change, diffTrees } from "../snapshot/diff.ts";
import { WalkBudget } from "../snapshot/walk-budget.ts";
import { type RetentionDecision, type RetentionPolicy, applyRetention, isEmptyPolicy } from "../snapshot/retention.ts";
import { lookupPath, pathComponents, readTree } from "../snapshot/tree-reader.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { TREE_DEPTH_MAX } from "../util/limits.ts";
import { markPhase } from "../util/phase.ts";
import { type Random, systemRandom } from "../util/random.ts";
import { type HeaderRestoreResult, type RekeyResult, EARLY_WORKER_MIN_VAULT_BYTES, StartedOpenWorker, Vault, backupHeader, rekeyVault, restoreHeader } from "../vault/index.ts";

export type { HeaderRestoreResult, RekeyResult };

export interface Deps {
  readonly clock: Clock;
  readonly random: Random;
}

export const defaultDeps: Deps = { clock: systemClock, random: systemRandom };

/** What unlocks a vault: a passphrase (NFC-normalized UTF-8) or the bytes of a key file. */
export type Secret = { readonly passphrase: string } | { readonly keyFile: Uint8Array };

function slotKind(secret: Secret): "passphrase" | "key-file" {
  return "passphrase" in secret ? "passphrase" : "key-file";
}

export interface KeySlotInfo {
  readonly index: number;
  readonly kind: "passphrase" | "key-file";
  readonly kdf: KdfParams;
  /** null when the slot holds no time this vault wrote. */
  readonly createdMs: number | null;
  /** The slot that unlocked this session. */
  readonly unlocked: boolean;
  /** KDF weaker than RFC 9106's second recommendation (test settings). */
  readonly belowFloor: boolean;
}

export interface CreateOptions {
  readonly secret: Secret;
  /** Argon2id parameters; omitted = calibrated to about half a second, never below RFC 9106's floor. */
  readonly kdf?: KdfParams;
  readonly deps?: Deps;
}

export interface OpenOptions {
  readonly secret: Secret;
  /** Take the writer lock (needed for backup). */
  readonly writable?: boolean;
  /** With writable: open a vault whose committed state is damaged, for repair() only. */
  readonly repair?: boolean;
  readonly compressionLevel?: number;
  /**
   * Read-only opens: "snapshots" loads only the snapshot entries of the blob index at open (each
   * index record is still read and authenticated); the rest loads on first need. For commands that
   * only list snapshots. Default "full".
   */
  readonly indexLoad?: "full" | "snapshots";
  /** From startUnlock (api/early-unlock.ts) with the same path and secret: its key derivation is used. */
  readonly unlocking?: StartedUnlock;
  readonly deps?: Deps;
}

export interface BackupOptions {
  readonly paths: readonly string[];
  readonly tags?: readonly string[];
  /** gitignore-style patterns, matched against the absolute path. */
  readonly excludes?: readonly string[];
  readonly oneFileSystem?: boolean;
  readonly dryRun?: boolean;
  readonly onError?: (path: string, error: Error) => ErrorDecision;
  readonly onWarning?: (path: string, message: string) => void;
  readonly signal?: AbortSignal;
  /** Live counters, updated as the backup runs (poll them for progress output). */
  readonly progress?: BackupProgress;
  /** Made by SuedeVault.prepareBackup before open: the listings it made are used, not made again. */
  readonly prepared?: BackupPreparation;
}

/**
 * The source tree being listed while a vault unlocks (SuedeVault.prepareBackup). Pass it to the
 * backup; stop it when the backup does not happen (the vault did not open).
 */
export class BackupPreparation {
  /** @internal */
  readonly prelister: Prelister;
  /** The backup's first file worker, started now so that its start-up overlaps the unlock too. */
  private fileWorker: StartedFileWorker | null = new StartedFileWorker();

  constructor(paths: readonly string[], oneFileSystem: boolean) {
    this.prelister = new Prelister(backupSources(paths).map((s) => Buffer.from(s)), oneFileSystem);
  }

  /** @internal The file worker started ahead, for the backup's FilePool (once). */
  takeFileWorker(): StartedFileWorker | undefined {
    const worker = this.fileWorker ?? undefined;
    this.fileWorker = null;
    return worker;
  }

  /** Stops listing, and ends the file worker started ahead unless a backup took it. */
  stop(): void {
    this.prelister.stop();
    void this.takeFileWorker()?.stop().catch(() => undefined);
  }

  /** Directories listed ahead so far, and how many of those listings a backup has used. */
  get directories(): { readonly listed: number; readonly used: number } {
    return { listed: this.prelister.listed, used: this.prelister.taken };
  }
}

/** The sources a backup of these paths names: absolute, each once, sorted. */
function backupSources(paths: readonly string[]): string[] {
  return [...new Set(paths.map((p) => resolvePath(p)))].sort();
}

export interface BackupResult {
  /** The new snapshot's number (null on a dry run). */
  readonly id: number | null;
  readonly parent: number | null;
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnchanged: number;
  readonly files: number;
  readonly dirs: number;
  readonly sizeBytes: number;
  readonly bytesRead: number;
  /** How much the vault file grew. */
  readonly bytesAdded: number;
  readonly skipped: readonly string[];
  readonly warnings: readonly string[];
  readonly durationMs: number;
}

export interface RestoreOptions {
  readonly target: string;
  /** Absolute snapshot paths to restore (with their ancestors); omitted = everything. */
  readonly include?: readonly string[];
  readonly overwrite?: boolean;
  readonly signal?: AbortSignal;
  readonly progress?: RestoreProgress;
  /** Made by SuedeVault.prepareRestore before open: its worker, started during the unlock, opens records. */
  readonly prepared?: RestorePreparation;
}

/**
 * A restore's first record-opening worker, started while the vault unlocks (SuedeVault.prepareRestore)
 * so that its start-up overlaps Argon2id. Stop it when the restore does not happen.
 */
export class RestorePreparation {
  private openWorker: StartedOpenWorker | null;
  /** Whether a worker was started ahead, and whether a restore took it. */
  readonly startedAhead: boolean;
  usedAhead = false;

  constructor(start: boolean) {
    this.openWorker = start ? new StartedOpenWorker() : null;
    this.startedAhead = start;
  }

  /** @internal The worker started ahead, for the vault's record reader (once). */
  takeOpenWorker(): StartedOpenWorker | undefined {
    const worker = this.openWorker ?? undefined;
    this.openWorker = null;
    return worker;
  }

  /** Ends the worker started ahead unless a restore took it. */
  stop(): void {
    void this.takeOpenWorker()?.stop().catch(() => undefined);
  }
}

export interface RestoreResult {
  readonly files: number;
  readonly dirs: number;
  readonly bytesWritten: number;
  readonly failed: readonly { path: string; message: string }[];
}

export interface ListEntry {
  /** Absolute path in the snapshot, as raw bytes. */
  readonly path: Uint8Array;
  readonly node: Node;
}

export type SnapshotRef = number | "latest";

/** A snapshot the vault lists but whose record does not read back (damaged or missing). */
export interface DamagedSnapshot {
  readonly number: number;
  readonly message: string;
}

/** A path inside a snapshot: text (encoded as UTF-8) or the raw bytes, for names that are not UTF-8. */
export type SnapshotPath = string | Uint8Array;

function pathBytes(path: SnapshotPath): Buffer {
  return typeof path === "string" ? Buffer.from(path) : Buffer.from(path);
}

export interface HistoryEntry {
  readonly snapshot: Snapshot;
  /** The path's node in that snapshot, or null when it did not exist then. */
  readonly node: Node | null;
  /** Content differs from the previous snapshot's version (or it appeared or vanished). */
  readonly changed: boolean;
}

export interface VaultInfo {
  readonly path: string;
  readonly formatVersion: number;
  readonly fileSizeBytes: number;
  /** Stored bytes of all indexed blobs (before prune, forgotten snapshots' blobs count here). */
  readonly liveBytes: number;
  /** Stored bytes of the blobs the remaining snapshots reference (null when a snapshot is damaged). */
  readonly referencedBytes: number | null;
  /**
   * Unreferenced: log bytes used by no blob a remaining snapshot references and by no current
   * metadata — what `prune` gives back, forgotten snapshots' blobs included (null when a snapshot
   * is damaged: what it references is unknown).
   */
  readonly garbageBytes: number | null;
  readonly snapshots: number;
  readonly blobs: number;
  readonly chunks: number;
  readonly uniqueDataBytes: number;
  /** Sum of the sizes of all snapshots' files. */
  readonly logicalBytes: number;
  readonly deduplicationRatio: number;
  readonly compressionRatio: number;
  readonly indexMemoryBytes: number;
  readonly keySlots: readonly KeySlotInfo[];
}

export interface PruneResult {
  readonly sizeBefore: number;
  /** File size after compaction (null on a dry run). */
  readonly sizeAfter: number | null;
  /** Bytes that no remaining snapshot references. */
  readonly garbageBytes: number;
  readonly recordsMoved: number;
}

export class SuedeVault {
  private constructor(
    private readonly vault: Vault,
    private readonly deps: Deps,
  ) {}

  static async create(path: string, options: CreateOptions): Promise<void> {
    const deps = options.deps ?? defaultDeps;
    const kdf = options.kdf ?? (await calibrateKdf(500));
    await Vault.create(path, {
      secret: secretBytes(options.secret),
      slotKind: slotKind(options.secret),
      kdf,
      deps,
    });
  }

  /**
   * Starts listing the tree a backup of these paths will walk, and the backup's first file worker,
   * for `backup({ prepared })`: call it before open, so both run while the key derivation does. Call
   * its stop() once the backup is over or will not happen (it ends the worker if no backup took it).
   */
  static prepareBackup(options: { readonly paths: readonly string[]; readonly oneFileSystem?: boolean }): BackupPreparation {
    return new BackupPreparation(options.paths, options.oneFileSystem ?? false);
  }

  /**
   * Starts a restore's first record-opening worker before the vault is opened. Only for a whole
   * restore from a vault big enough to start workers at all (EARLY_WORKER_MIN_VAULT_BYTES; the
   * caller gives the vault file's size): a small restore must not pay for an isolate it would not
   * have started.
   */
  static prepareRestore(options: { readonly vaultBytes: number; readonly include?: readonly string[] }): RestorePreparation {
    const whole = options.include === undefined || options.include.length === 0;
    return new RestorePreparation(whole && options.vaultBytes >= EARLY_WORKER_MIN_VAULT_BYTES);
  }

  static async open(path: string, options: OpenOptions): Promise<SuedeVault> {
    const deps = options.deps ?? defaultDeps;
    const vault = await Vault.open(path, {
      secret: secretBytes(options.secret),
      writable: options.writable ?? false,
      repair: options.repair ?? false,
      ...(options.indexLoad !== undefined ? { indexLoad: options.indexLoad } : {}),
      ...(options.unlocking !== undefined && options.unlocking.early.path === path ? { earlyUnlock: options.unlocking.early } : {}),
      deps,
      ...(options.compressionLevel !== undefined ? { compressionLevel: options.compressionLevel } : {}),
    });
    return new SuedeVault(vault, deps);
  }

  get warnings(): readonly string[] {
    return this.vault.warnings;
  }

  get path(): string {
    return this.vault.path;
  }

  async close(): Promise<void> {
    await this.vault.close();
  }

  /**
   * Read-only sessions (mount, web UI): picks up snapshots committed by other processes since open.
   * Returns whether the vault changed.
   */
  refresh(): Promise<boolean> {
    return this.vault.refresh();
  }

  /** The snapshots' numbers, oldest first, without reading their records (cheap change detection). */
  snapshotNumbers(): number[] {
    return this.vault.snapshots.map((ref) => ref.number);
  }

  /** All snapshots, oldest first. */
  /** The snapshots whose records read back; a damaged one is left out (see snapshotListing). */
  async listSnapshots(): Promise<Snapshot[]> {
    return (await this.snapshotListing()).snapshots;
  }

  /** Every snapshot that reads back, and for each one that does not, its number and why. */
  async snapshotListing(): Promise<{ snapshots: Snapshot[]; damaged: DamagedSnapshot[] }> {
    const snapshots: Snapshot[] = [];
    const damaged: DamagedSnapshot[] = [];
    for (const ref of this.vault.snapshots) {
      try {
        snapshots.push(await this.readSnapshot(ref.number, ref.id));
      } catch (error) {
        if (!(error instanceof SuedeError) || error.code !== "VAULT_CORRUPT") throw error;
        damaged.push({ number: ref.number, message: error.message });
      }
    }
    return { snapshots, damaged };
  }

  private async readSnapshot(number: number, id: BlobId): Promise<Snapshot> {
    const bytes = await this.vault.getBlob(id);
    try {
      const snapshot = decodeSnapshot(bytes);
      if (snapshot.number !== number) throw new Error(`record says snapshot ${snapshot.number}`);
      return snapshot;
    } catch (cause) {
      throw new SuedeError("VAULT_CORRUPT", `snapshot ${number} record does not decode`, { cause });
    }
  }

  async getSnapshot(ref: SnapshotRef): Promise<Snapshot> {
    const refs = this.vault.snapshots;
    const found = ref === "latest" ? refs[refs.length - 1] : refs.find((r) => r.number === ref);
    if (found === undefined) {
      throw new SuedeError("SNAPSHOT_NOT_FOUND", ref === "latest" ? "the vault has no snapshots yet" : `no snapshot ${ref} in this vault`);
    }
    return this.readSnapshot(found.number, found.id);
  }

  async backup(options: BackupOptions): Promise<BackupResult> {
    markPhase("backup");
    const started = this.deps.clock.nowMs();
    const sourceFs = new NodeSourceFs();
    // The walk lists on its workers from here on; what was listed during the unlock is taken.
    options.prepared?.prelister.stop();
    const sources = backupSources(options.paths);
    if (sources.length === 0) throw new SuedeError("USAGE", "name at least one path to back up");
    for (const source of sources) {
      try {
        await sourceFs.lstat(Buffer.from(source));
      } catch (cause) {
        throw new SuedeError("PATH_NOT_FOUND", `cannot back up ${source}: ${(cause as NodeJS.ErrnoException).code ?? cause}`, { cause });
      }
    }
    const host = hostname();
    const parent = await this.findParent(host, sources);
    markPhase("parent");
    const excludes = options.excludes ?? [];
    // No patterns (the common case): skip the matcher and the per-entry path decoding altogether.
    const matcher = excludes.length > 0 ? ignore().add([...excludes]) : null;
    const vaultFile = await this.vault.fileIdentity();
    const lockPrefix = Buffer.from(`${vaultFile.realPath}.lock`);
    const skipped: string[] = [];
    const warnings: string[] = [];
    const progress = options.progress ?? emptyProgress();
    const store: BlobStore = options.dryRun === true ? new DryRunStore(this.vault) : this.vault;
    const sizeBefore = this.vault.fileEnd;
    const filePool = new FilePool({ ...store.sealingSpec(), params: CHUNKER_PARAMS_DEFAULT }, undefined, options.prepared?.takeFileWorker());
    try {
      const root = await backupTree(store, sourceFs, {
        sources: sources.map((s) => Buffer.from(s)),
        parentRoot: parent?.root ?? null,
        isExcluded: (path, stat) => {
          // Never back up the vault itself (it grows while it is read) or its lock files.
          if (stat.inode === vaultFile.inode && stat.device === vaultFile.device) return true;
          if (path.length >= lockPrefix.length && lockPrefix.equals(path.subarray(0, lockPrefix.length))) return true;
          if (matcher === null) return false;
          const relative = path.toString("utf8").replace(/^\/+/, "");
          return relative !== "" && matcher.ignores(stat.type === "dir" ? `${relative}/` : relative);
        },
        oneFileSystem: options.oneFileSystem ?? false,
        onError: (path, error) => {
          const shown = displayPath(path);
          skipped.push(shown);
          return options.onError?.(shown, error) ?? "skip";
        },
        onWarning: (path, message) => {
          const shown = displayPath(path);
          warnings.push(`${shown}: ${message}`);
          options.onWarning?.(shown, message);
        },
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        filePool,
        progress,
        ...(options.prepared !== undefined ? { prelisted: options.prepared.prelister } : {}),
      });
      markPhase("walked");
      let id: number | null = null;
      if (options.dryRun !== true) {
        id = this.vault.allocateSnapshotNumber();
        const snapshot: Snapshot = {
          number: id,
          timeMs: started,
          host,
          user: userInfo().username,
          paths: sources,
          tags: [...new Set(options.tags ?? [])],
          pinned: false,
          parent: parent?.number ?? null,
          root,
          stats: {
            files: progress.files,
            dirs: progress.dirs,
            sizeBytes: progress.sizeBytes,
            filesNew: progress.filesNew,
            filesChanged: progress.filesChanged,
            filesUnchanged: progress.filesUnchanged,
            bytesRead: progress.bytesRead,
            bytesAdded: this.vault.pendingBytes,
            durationMs: this.deps.clock.nowMs() - started,
            skipped: progress.skipped,
          },
        };
        const bytes = encodeSnapshot(snapshot);
        const snapshotId = this.vault.blobId(bytes);
        await this.vault.putBlob("snapshot", snapshotId, bytes);
        this.vault.setSnapshots([...this.vault.snapshots, { number: id, id: snapshotId }]);
        if (options.signal?.aborted === true) throw new SuedeError("CANCELLED", "backup cancelled; the vault is unchanged");
        await this.vault.commit();
        markPhase("committed");
      }
      return {
        id,
        parent: parent?.number ?? null,
        filesNew: progress.filesNew,
        filesChanged: progress.filesChanged,
        filesUnchanged: progress.filesUnchanged,
        files: progress.files,
        dirs: progress.dirs,
        sizeBytes: progress.sizeBytes,
        bytesRead: progress.bytesRead,
        bytesAdded: options.dryRun === true ? progress.bytesStored : this.vault.fileEnd - sizeBefore,
        skipped,
        warnings,
        durationMs: this.deps.clock.nowMs() - started,
      };
    } finally {
      await filePool.close();
      markPhase("workers closed");
    }
  }

  /** The newest snapshot of the same host and source paths (restic's rule). */
  private async findParent(host: string, sources: readonly string[]): Promise<Snapshot | null> {
    const refs = this.vault.snapshots;
    for (let i = refs.length - 1; i >= 0; i--) {
      const snapshot = await this.readSnapshot(refs[i]!.number, refs[i]!.id);
      if (snapshot.host === host && snapshot.paths.length === sources.length && snapshot.paths.every((p, j) => p === sources[j])) {
        return snapshot;
      }
    }
    return null;
  }

  /** The entries of a directory in a snapshot (recursively when asked), in name order. */
  async *list(ref: SnapshotRef, options: { path?: SnapshotPath; recursive?: boolean } = {}): AsyncGenerator<ListEntry> {
    const snapshot = await this.getSnapshot(ref);
    const start = pathBytes(options.path ?? "/");
    const components = pathComponents(start);
    let parts: readonly BlobId[] = snapshot.root;
    if (components.length > 0) {
      const node = await lookupPath(this.vault, snapshot.root, components);
      if (node === null) throw new SuedeError("PATH_NOT_FOUND", `no such path in snapshot ${snapshot.number}: ${displayPath(start)}`);
      if (node.type !== "dir") {
        yield { path: joinComponents(components), node };
        return;
      }
      parts = node.subtree ?? [];
    }
    yield* this.listParts(parts, joinComponents(components), options.recursive ?? false, new WalkBudget(snapshot));
  }

  /**
   * Depth first with an explicit stack of open directories (no generator per level, so a crafted
   * tree that contains itself ends at TREE_DEPTH_MAX with VaultCorruptError, not a stack overflow).
   */
  private async *listParts(parts: readonly BlobId[], dirPath: Uint8Array, recursive: boolean, budget: WalkBudget): AsyncGenerator<ListEntry> {
    const stack: { entries: AsyncGenerator<Node>; dirPath: Uint8Array }[] = [{ entries: readTree(this.vault, parts), dirPath }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = await top.entries.next();
      if (next.done === true) {
        stack.pop();
        continue;
      }
      const node = next.value;
      budget.spend(node);
      const path = top.dirPath.byteLength === 1 ? Buffer.concat([top.dirPath, node.name]) : Buffer.concat([top.dirPath, Buffer.from("/"), node.name]);
      yield { path, node };
      if (recursive && node.type === "dir") {
        if (stack.length >= TREE_DEPTH_MAX) throw new VaultCorruptError(0, `directories nest deeper than ${TREE_DEPTH_MAX} levels at ${displayPath(path)}`);
        stack.push({ entries: readTree(this.vault, node.subtree ?? []), dirPath: path });
      }
    }
  }

  async restore(ref: SnapshotRef, options: RestoreOptions): Promise<RestoreResult> {
    const snapshot = await this.getSnapshot(ref);
    const target = new NodeTargetFs();
    const targetRoot = Buffer.from(resolvePath(options.target));
    const existing = await target.existingType(targetRoot);
    if (existing !== null && existing !== "dir") throw new SuedeError("TARGET_UNWRITABLE", `target ${options.target} is not a directory`);
    if (existing === null) await ensureDirectory(resolvePath(options.target));
    else if (options.overwrite !== true && !(await isEmptyDirectory(resolvePath(options.target)))) {
      throw new SuedeError("TARGET_NOT_EMPTY", `target directory ${options.target} is not empty (use --overwrite to restore into it)`);
    }
    const includes = options.include === undefined || options.include.length === 0 ? null : options.include.map((p) => pathComponents(Buffer.from(p)));
    for (const [i, components] of (includes ?? []).entries()) {
      if (!options.include![i]!.startsWith("/")) throw new SuedeError("USAGE", `--include takes an absolute path in the snapshot, not ${options.include![i]}`);
      if (components.length > 0 && (await lookupPath(this.vault, snapshot.root, components)) === null) {
        throw new SuedeError("PATH_NOT_FOUND", `no such path in snapshot ${snapshot.number}: ${options.include![i]}`);
      }
    }
    const started = options.prepared?.takeOpenWorker();
    if (started !== undefined) {
      if (includes === null) {
        this.vault.adoptOpenWorker(started);
        options.prepared!.usedAhead = true;
      } else void started.stop().catch(() => undefined);
    }
    const progress = options.progress ?? emptyRestoreProgress();
    const failed: { path: string; message: string }[] = [];
    await restoreTree(this.vault, target, {
      root: snapshot.root,
      budget: new WalkBudget(snapshot),
      targetRoot,
      includes,
      overwrite: options.overwrite ?? false,
      restoreOwner: process.getuid?.() === 0,
      onError: (path, error) => failed.push({ path: displayPath(path), message: error.message }),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      progress,
    });
    return { files: progress.files, dirs: progress.dirs, bytesWritten: progress.bytesWritten, failed };
  }

  /**
   * Vault facts for `info`: sizes, ratios, counts, key slots (never secrets). Reads every
   * remaining snapshot's trees once (each distinct tree part once) to know which blobs they
   * reference, then makes one pass over the index.
   */
  async info(options: { signal?: AbortSignal } = {}): Promise<VaultInfo> {
    await this.vault.loadIndex();
    const { snapshots, damaged } = await this.snapshotListing();
    // With a damaged snapshot what it references is unknown, and so is what prune would free.
    const live = damaged.length === 0 ? await this.liveSet(options.signal) : null;
    const stats = this.vault.storageStats(live);
    const logicalBytes = snapshots.reduce((sum, s) => sum + s.stats.sizeBytes, 0);
    return {
      path: this.vault.path,
      formatVersion: this.vault.formatVersion,
      fileSizeBytes: (await this.vault.fileIdentity()).sizeBytes,
      liveBytes: stats.storedBytes,
      referencedBytes: live === null ? null : stats.referencedBytes,
      garbageBytes: live === null ? null : stats.garbageBytes,
      snapshots: snapshots.length,
      blobs: stats.blobs,
      chunks: stats.dataBlobs,
      uniqueDataBytes: stats.dataRawBytes,
      logicalBytes,
      deduplicationRatio: stats.dataRawBytes === 0 ? 1 : logicalBytes / stats.dataRawBytes,
      compressionRatio: stats.storedBytes === 0 ? 1 : stats.rawBytes / stats.storedBytes,
      indexMemoryBytes: stats.indexMemoryBytes,
      keySlots: this.listKeys(),
    };
  }

  /** The node at an absolute path in a snapshot. */
  async stat(ref: SnapshotRef, path: SnapshotPath): Promise<Node> {
    const snapshot = await this.getSnapshot(ref);
    const node = await lookupPath(this.vault, snapshot.root, pathComponents(pathBytes(path)));
    if (node === null) throw new SuedeError("PATH_NOT_FOUND", `no such path in snapshot ${snapshot.number}: ${displayPath(pathBytes(path))}`);
    return node;
  }

  /** A file's bytes, chunk by chunk (zero runs as zero-filled buffers), from offset for length bytes. */
  async *readFile(node: Node, range: { offsetBytes?: number; lengthBytes?: number } = {}): AsyncGenerator<Uint8Array> {
    if (node.type !== "file") throw new SuedeError("USAGE", "not a regular file");
    if (node.unreadable !== undefined) throw new SuedeError("FAILED", `this file could not be read at backup time (${node.unreadable})`);
    const start = range.offsetBytes ?? 0;
    const end = Math.min(node.sizeBytes, start + (range.lengthBytes ?? node.sizeBytes));
    const chunks = node.chunks ?? [];
    const starts = chunkStarts(node);
    // Seek: the last chunk starting at or before `start` (a mount reads big files in 128 KiB pieces).
    let low = 0;
    let high = chunks.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (starts[middle]! <= start) low = middle;
      else high = middle - 1;
    }
    for (let i = low; i < chunks.length && starts[i]! < end; i++) {
      const chunk = chunks[i]!;
      const position = starts[i]!;
      if (position + chunk.sizeBytes <= start) continue;
      const data = isHoleId(chunk.id) ? new Uint8Array(chunk.sizeBytes) : await this.vault.getBlob(chunk.id);
      if (data.byteLength !== chunk.sizeBytes) throw new SuedeError("VAULT_CORRUPT", "chunk has the wrong size");
      yield data.subarray(Math.max(0, start - position), Math.min(chunk.sizeBytes, end - position));
    }
  }

  /** Every version of one path across all snapshots, oldest first; `changed` compares content with the previous version. */
  async *history(path: SnapshotPath): AsyncGenerator<HistoryEntry> {
    const components = pathComponents(pathBytes(path));
    let previous: Node | null = null;
    for (const snapshot of await this.listSnapshots()) {
      const node = await lookupPath(this.vault, snapshot.root, components);
      yield { snapshot, node, changed: node === null ? previous !== null : previous === null || !sameContent(previous, node) };
      previous = node;
    }
  }

  /** Paths in every snapshot that match a gitignore-style pattern (as --exclude patterns do). */
  async *find(pattern: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<{ snapshot: number; path: Uint8Array; node: Node }> {
    const matcher = ignore().add(pattern);
    for (const ref of this.vault.snapshots) {
      for await (const entry of this.list(ref.number, { recursive: true })) {
        if (options.signal?.aborted === true) throw new SuedeError("CANCELLED", "find cancelled");
        const relative = Buffer.from(entry.path).toString("utf8").replace(/^\/+/, "");
        if (matcher.ignores(entry.node.type === "dir" ? `${relative}/` : relative)) yield { snapshot: ref.number, ...entry };
      }
    }
  }

  // ---- lifecycle: forget, pin, prune ----

  /** Removes snapshots from the vault's list (their data stays until prune). Pinned ones are refused. */
  async forget(numbers: readonly number[]): Promise<number[]> {
    const refs = this.vault.snapshots;
    const remove = new Set(numbers);
    for (const number of remove) {
      const ref = refs.find((r) => r.number === number);
      if (ref === undefined) throw new SuedeError("SNAPSHOT_NOT_FOUND", `no snapshot ${number} in this vault`);
      if ((await this.readSnapshot(ref.number, ref.id)).pinned) {
        throw new SuedeError("FAILED", `snapshot ${number} is pinned; unpin it before forgetting it`);
      }
    }
    if (remove.size === 0) return [];
    this.vault.setSnapshots(refs.filter((r) => !remove.has(r.number)));
    await this.vault.commit();
    return [...remove].sort((a, b) => a - b);
  }

  /** Which snapshots a retention policy keeps and why (restic's forget rules); pinned ones always stay. */
  async planRetention(policy: RetentionPolicy, options: { host?: string; timeZone?: string } = {}): Promise<RetentionDecision[]> {
    if (isEmptyPolicy(policy)) throw new SuedeError("USAGE", "an empty policy would forget every snapshot; give --keep-* options or snapshot numbers");
    const snapshots = (await this.listSnapshots()).filter((s) => options.host === undefined || s.host === options.host);
    return applyRetention(snapshots, policy, { nowMs: this.deps.clock.nowMs(), ...(options.timeZone !== undefined ? { timeZone: options.timeZone } : {}) });
  }

  /** Changes between two snapshots; unchanged directories are skipped without being read. */
  async *diff(a: SnapshotRef, b: SnapshotRef): AsyncGenerator<Change> {
    const [before, after] = [await this.getSnapshot(a), await this.getSnapshot(b)];
    yield* diffTrees(this.vault, before.root, after.root, { budgets: { before: new WalkBudget(before), after: new WalkBudget(after) } });
  }

  /** Marks a snapshot permanent (never forgotten), or not. */
  async setPinned(ref: SnapshotRef, pinned: boolean): Promise<Snapshot> {
    const snapshot = await this.getSnapshot(ref);
    if (snapshot.pinned === pinned) return snapshot;
    const updated: Snapshot = { ...snapshot, pinned };
    const bytes = encodeSnapshot(updated);
    const id = this.vault.blobId(bytes);
    await this.vault.putBlob("snapshot", id, bytes);
    this.vault.setSnapshots(this.vault.snapshots.map((r) => (r.number === snapshot.number ? { number: r.number, id } : r)));
    await this.vault.commit();
    return updated;
  }

  /** Drops data no snapshot references and shrinks the file. */
  async prune(options: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<PruneResult> {
    const live = await this.liveSet(options.signal);
    const garbageBytes = this.vault.garbageBytes(live);
    const sizeBefore = this.vault.fileEnd;
    if (options.dryRun === true) return { sizeBefore, sizeAfter: null, garbageBytes, recordsMoved: 0 };
    const result = await this.vault.compact(live, options.signal !== undefined ? { signal: options.signal } : {});
    return { sizeBefore, sizeAfter: result.bytesAfter, garbageBytes, recordsMoved: result.recordsMoved };
  }

  /** Every blob a remaining snapshot references. */
  private async liveSet(signal: AbortSignal | undefined): Promise<ReturnType<Vault["newLiveSet"]>> {
    await this.vault.loadIndex();
    const live = this.vault.newLiveSet();
    for (const ref of this.vault.snapshots) {
      live.add(ref.id);
      const snapshot = await this.readSnapshot(ref.number, ref.id);
      await this.markTrees(live, snapshot.root, signal);
    }
    return live;
  }

  private async markTrees(live: ReturnType<Vault["newLiveSet"]>, parts: readonly BlobId[], signal: AbortSignal | undefined): Promise<void> {
    for (const part of parts) {
      if (signal?.aborted === true) throw new SuedeError("CANCELLED", "prune cancelled; the vault is unchanged");
      if (!live.add(part)) {
        if (!this.vault.hasBlob(part)) throw missingBlob(part);
        continue; // an identical directory was marked already
      }
      for await (const node of readTree(this.vault, [part])) {
        for (const chunk of node.chunks ?? []) {
          if (!isHoleId(chunk.id) && !live.add(chunk.id) && !this.vault.hasBlob(chunk.id)) throw missingBlob(chunk.id);
        }
        if (node.subtree !== undefined) await this.markTrees(live, node.subtree, signal);
      }
    }
  }

  // ---- keys: LUKS-like slots; every change rewrites only the header ----

  listKeys(): KeySlotInfo[] {
    return this.vault.keySlots().map((slot) => ({ ...slot, belowFloor: isBelowFloor(slot.kdf) }));
  }

  /** Adds a slot for another passphrase or key file; returns its number. */
  async addKey(secret: Secret, options: { kdf?: KdfParams } = {}): Promise<number> {
    const kdf = options.kdf ?? (await calibrateKdf(500));
    return this.vault.addKeySlot(secretBytes(secret), slotKind(secret), kdf);
  }

  /** Removes a slot; without a number, the one that unlocked this session. */
  async removeKey(index?: number): Promise<number> {
    const slot = index ?? this.vault.unlockedSlot;
    await this.vault.removeKeySlot(slot);
    return slot;
  }

  /** Replaces the secret of the slot that unlocked this session. */
  async changeKey(secret: Secret, options: { kdf?: KdfParams } = {}): Promise<number> {
    const kdf = options.kdf ?? (await calibrateKdf(500));
    await this.vault.replaceKeySlot(this.vault.unlockedSlot, secretBytes(secret), slotKind(secret), kdf);
    return this.vault.unlockedSlot;
  }

  /**
   * Re-key: a new master key, every record re-encrypted (rekey.ts), for real revocation. The new
   * file has one key slot, holding `secret`; every other slot is gone. Unreferenced data is
   * dropped on the way. Interrupted, it resumes on the next call. Ends this session: open again.
   */
  async rekey(secret: Secret, options: { kdf?: KdfParams; signal?: AbortSignal; onProgress?: (copiedBytes: number, totalBytes: number) => void } = {}): Promise<RekeyResult> {
    const live = await this.liveSet(options.signal);
    try {
      return await rekeyVault(this.vault, live, {
        secret: secretBytes(secret),
        slotKind: slotKind(secret),
        kdf: options.kdf ?? this.vault.unlockedSlotKdf,
        deps: this.deps,
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      });
    } finally {
      await this.vault.close();
    }
  }

  async check(options: { readData?: boolean; signal?: AbortSignal } = {}): Promise<CheckReport> {
    await this.vault.loadIndex();
    return checkVault(this.vault, { readData: options.readData ?? false, ...(options.signal !== undefined ? { signal: options.signal } : {}) });
  }

  /** Best-effort extraction from a vault that does not open (api/salvage.ts); never writes the vault. */
  static async salvage(path: string, options: SalvageOptions & { secret: Secret }): Promise<SalvageReport> {
    return salvageVault(path, secretBytes(options.secret), options);
  }

  /**
   * Copies the vault's header region (both copies, exact bytes) to `file`, mode 0600, never over an
   * existing file; the secret must open it first. The file holds the key slots: with it, any secret
   * it held opens the vault, even after that key was changed or removed (until a re-key).
   */
  static async backupHeader(path: string, file: string, options: { secret: Secret }): Promise<{ sizeBytes: number }> {
    return backupHeader(path, secretBytes(options.secret), file);
  }

  /** Writes a header backup of THIS vault back (both copies), for a vault whose header was destroyed. */
  static async restoreHeader(path: string, file: string, options: { secret: Secret; deps?: Deps }): Promise<HeaderRestoreResult> {
    return restoreHeader(path, secretBytes(options.secret), file, (options.deps ?? defaultDeps).clock.nowMs());
  }

  /** check --repair (check/repair.ts): needs a vault opened with writable and repair. */
  async repair(options: { forgetDamaged?: boolean } = {}): Promise<RepairReport> {
    return repairVault(this.vault, { forgetDamaged: options.forgetDamaged ?? false });
  }
}

/** Each chunk's start offset in its file, computed once per node (nodes are immutable). */
const chunkStartCache = new WeakMap<Node, Float64Array>();

function chunkStarts(node: Node): Float64Array {
  let starts = chunkStartCache.get(node);
  if (starts === undefined) {
    const chunks = node.chunks ?? [];
    starts = new Float64Array(chunks.length);
    let position = 0;
    for (let i = 0; i < chunks.length; i++) {
      starts[i] = position;
      position += chunks[i]!.sizeBytes;
    }
    chunkStartCache.set(node, starts);
  }
  return starts;
}

function sameContent(a: Node, b: Node): boolean {
  if (a.type !== b.type || a.sizeBytes !== b.sizeBytes) return false;
  if (a.type === "dir") return sameIds(a.subtree ?? [], b.subtree ?? []);
  if (a.type === "symlink") return Buffer.compare(a.linkTarget ?? new Uint8Array(), b.linkTarget ?? new Uint8Array()) === 0;
  return sameIds((a.chunks ?? []).map((c) => c.id), (b.chunks ?? []).map((c) => c.id));
}

function sameIds(a: readonly BlobId[], b: readonly BlobId[]): boolean {
  return a.length === b.length && a.every((id, i) => Buffer.compare(id, b[i]!) === 0);
}

function missingBlob(id: BlobId): SuedeError {
  return new SuedeError("VAULT_CORRUPT", `a snapshot references blob ${Buffer.from(id).toString("hex").slice(0, 16)}… which is not in the vault; run suede check before pruning`);
}

function joinComponents(components: readonly Uint8Array[]): Uint8Array {
  if (components.length === 0) return Buffer.from("/");
  return Buffer.concat(components.flatMap((c) => [Buffer.from("/"), c]));
}

/** A BlobStore that stores nothing: --dry-run sees what a backup would add. */
class DryRunStore implements BlobStore {
  private readonly seen = new Set<string>();
  constructor(private readonly vault: Vault) {}
  hasBlob(id: BlobId): boolean {
    return this.vault.hasBlob(id) || this.seen.has(Buffer.from(id).toString("hex"));
  }
  async putBlob(_kind: string, id: BlobId, plaintext: Uint8Array): Promise<number> {
    if (!this.claimBlob(id)) return 0;
    return plaintext.byteLength;
  }
  claimBlob(id: BlobId): boolean {
    if (this.hasBlob(id)) return false;
    this.seen.add(Buffer.from(id).toString("hex"));
    return true;
  }
  async putSealedBlob(_id: BlobId, record: Uint8Array): Promise<number> {
    return record.byteLength;
  }
  sealingSpec(): SealingSpec {
    return this.vault.sealingSpec();
  }
  getBlob(id: BlobId): Promise<Uint8Array> {
    return this.vault.getBlob(id);
  }
  blobId(plaintext: Uint8Array): BlobId {
    return this.vault.blobId(plaintext);
  }
}
