/**
 * suede salvage: best-effort extraction from a vault that will not open (vault/salvage.ts finds
 * the records). Every snapshot record found is decoded; for a snapshot number found more than once
 * (a pin change writes a new record) the last one in the log wins. Each snapshot is restored with
 * the ordinary restore into its own directory, so every readable file comes back byte-exact and
 * every unreadable one is listed, exactly as `restore` reports damage.
 */
import { resolve as resolvePath, join } from "node:path";
import type { Snapshot } from "../core/types.ts";
import { SuedeError } from "../errors/errors.ts";
import { displayPath } from "../fs/display-path.ts";
import { NodeTargetFs, ensureDirectory, isEmptyDirectory } from "../fs/node-target-fs.ts";
import { emptyRestoreProgress, restoreTree } from "../restore/restore.ts";
import { decodeSnapshot } from "../snapshot/snapshot-codec.ts";
import { WalkBudget } from "../snapshot/walk-budget.ts";
import { type SalvageScan, SalvageStore } from "../vault/index.ts";

export interface SalvageOptions {
  readonly target: string;
  /** Only this snapshot number, restored straight into target; omitted = every snapshot found, each in target/snapshot-N. */
  readonly snapshot?: number;
  /** A header backup file (`header backup`) to unlock with when both of the vault's header copies are gone. */
  readonly headerBackup?: string;
  readonly signal?: AbortSignal;
}

export interface SalvagedSnapshot {
  readonly number: number;
  readonly timeMs: number;
  readonly paths: readonly string[];
  readonly target: string;
  readonly files: number;
  readonly dirs: number;
  readonly bytesWritten: number;
  /** Entries that could not be restored (their data, or the directory holding them, is gone). */
  readonly lost: readonly { path: string; message: string }[];
}

export interface SalvageReport {
  readonly scan: SalvageScan;
  readonly snapshots: readonly SalvagedSnapshot[];
  /** Snapshot records that were found but do not decode. */
  readonly unreadableSnapshotRecords: number;
}

export async function salvageVault(path: string, secret: Uint8Array, options: SalvageOptions): Promise<SalvageReport> {
  const target = resolvePath(options.target);
  const targetFs = new NodeTargetFs();
  const existing = await targetFs.existingType(Buffer.from(target));
  if (existing !== null && existing !== "dir") throw new SuedeError("TARGET_UNWRITABLE", `target ${options.target} is not a directory`);
  if (existing !== null && !(await isEmptyDirectory(target))) throw new SuedeError("TARGET_NOT_EMPTY", `target directory ${options.target} is not empty`);
  const store = await SalvageStore.open(path, secret, options.headerBackup);
  try {
    const byNumber = new Map<number, Snapshot>();
    let unreadableSnapshotRecords = 0;
    for (const id of store.snapshotIds) {
      try {
        const snapshot = decodeSnapshot(await store.getBlob(id));
        byNumber.set(snapshot.number, snapshot);
      } catch {
        unreadableSnapshotRecords++;
      }
    }
    let chosen = [...byNumber.values()].sort((a, b) => a.number - b.number);
    if (options.snapshot !== undefined) {
      chosen = chosen.filter((s) => s.number === options.snapshot);
      if (chosen.length === 0) throw new SuedeError("SNAPSHOT_NOT_FOUND", `no readable record of snapshot ${options.snapshot} was found in the vault`);
    }
    if (chosen.length === 0) {
      const r = store.scan.records;
      if (options.headerBackup !== undefined && r.data + r.tree + r.snapshot + r.other === 0) {
        // Not one record authenticates: far likelier a wrong header file than a vault with nothing left.
        throw new SuedeError(
          "BAD_HEADER_BACKUP",
          `no record of ${path} opens with the key of ${options.headerBackup}: it is a header of another vault, or one from before a re-key`,
        );
      }
      throw new SuedeError("VAULT_CORRUPT", "no readable snapshot record was found anywhere in the vault");
    }
    const snapshots: SalvagedSnapshot[] = [];
    for (const snapshot of chosen) {
      if (options.signal?.aborted === true) throw new SuedeError("CANCELLED", "salvage cancelled");
      const snapshotTarget = options.snapshot === undefined ? join(target, `snapshot-${snapshot.number}`) : target;
      await ensureDirectory(snapshotTarget);
      const lost: { path: string; message: string }[] = [];
      const progress = emptyRestoreProgress();
      try {
        await restoreTree(store, targetFs, {
          root: snapshot.root,
          budget: new WalkBudget(snapshot),
          targetRoot: Buffer.from(snapshotTarget),
          includes: null,
          overwrite: false,
          restoreOwner: process.getuid?.() === 0,
          onError: (where, error) => lost.push({ path: displayPath(where), message: error.message }),
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          progress,
        });
      } catch (error) {
        if (!(error instanceof SuedeError) || error.code === "CANCELLED" || error.code === "NO_SPACE") throw error;
        lost.push({ path: "/", message: `the snapshot's root directory: ${error.message}` });
      }
      snapshots.push({
        number: snapshot.number,
        timeMs: snapshot.timeMs,
        paths: snapshot.paths,
        target: snapshotTarget,
        files: progress.files,
        dirs: progress.dirs,
        bytesWritten: progress.bytesWritten,
        lost,
      });
    }
    return { scan: store.scan, snapshots, unreadableSnapshotRecords };
  } finally {
    await store.close();
  }
}
