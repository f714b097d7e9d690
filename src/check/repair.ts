/**
 * check --repair: rebuilds from the log what the log still holds, through the ordinary commit
 * protocol (append, sync, checkpoint, sync, superblock, sync), so a crash during a repair leaves
 * the vault as it was before it or as repaired. Nothing is overwritten but the header copies and
 * superblock slots, each written only from the copy in use. What it does, in order:
 *  - snapshots whose record or root directory is unreadable: forgotten only with forgetDamaged,
 *    otherwise reported (their undamaged files may still matter to someone; salvage reads them);
 *  - a damaged index, a lost checkpoint or a file cut short: a new commit of the newest readable
 *    state, with the whole index written anew from what a scan of the records found;
 *  - a superblock slot that does not authenticate: one more commit writes it (commits alternate);
 *  - a header copy that is damaged or stale: both copies rewritten from the one in use.
 * Damaged file content is not repairable here: `restore` skips and reports those files.
 */
import type { BlobId } from "../core/ids.ts";
import { toHex } from "../util/bytes.ts";
import type { SnapshotRef } from "../vault/checkpoint.ts";
import type { Vault } from "../vault/vault.ts";
import { decodeSnapshot } from "../snapshot/snapshot-codec.ts";
import { readTreePart } from "../snapshot/tree-reader.ts";

export interface RepairOptions {
  /** Forget snapshots whose record or root directory cannot be read (they cannot be restored). */
  readonly forgetDamaged: boolean;
}

export interface RepairReport {
  /** What was rewritten, one line each. */
  readonly actions: readonly string[];
  /** Damage left in place, one line each, with what would remove it. */
  readonly remaining: readonly string[];
  readonly forgotten: readonly number[];
}

/** Why a snapshot cannot be restored at all (record or root directory unreadable), or null. */
export async function unreadableSnapshot(vault: Vault, ref: SnapshotRef): Promise<string | null> {
  let root: readonly BlobId[];
  try {
    const snapshot = decodeSnapshot(await vault.getBlob(ref.id));
    if (snapshot.number !== ref.number) return `its record says snapshot ${snapshot.number}`;
    root = snapshot.root;
  } catch (error) {
    return `its record is unreadable: ${error instanceof Error ? error.message : String(error)}`;
  }
  for (const part of root) {
    try {
      await readTreePart(vault, part);
    } catch (error) {
      return `its root directory ${toHex(part).slice(0, 16)}… is unreadable: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return null;
}

export async function repairVault(vault: Vault, options: RepairOptions): Promise<RepairReport> {
  const actions: string[] = [];
  const remaining: string[] = [];
  const forgotten: number[] = [];
  let commit = false;

  const keep: SnapshotRef[] = [];
  for (const ref of vault.snapshots) {
    const why = await unreadableSnapshot(vault, ref);
    if (why === null) keep.push(ref);
    else if (options.forgetDamaged) forgotten.push(ref.number);
    else {
      keep.push(ref);
      remaining.push(`snapshot ${ref.number} cannot be restored (${why}); --forget-damaged drops it, suede salvage reads what is left`);
    }
  }
  if (forgotten.length > 0) {
    vault.setSnapshots(keep);
    actions.push(`forgot unreadable snapshot(s) ${forgotten.join(", ")}`);
    commit = true;
  }
  if (vault.indexRebuilt) {
    actions.push(`rewrote the index from a scan of the log (${vault.blobIndex.size} blobs)`);
    commit = true;
  }
  if (vault.damaged && !vault.indexRebuilt) {
    actions.push(`committed the newest readable state (checkpoint ${vault.committedSequence}) anew: ${vault.warnings.join("; ")}`);
    commit = true;
  }
  if (commit) await vault.commit({ fullIndex: vault.indexRebuilt });
  const slots = await vault.damagedSuperblockSlots();
  if (slots.length > 0) {
    // Commits alternate slots: one commit rewrites the damaged slot, a second the other if both were.
    await vault.commit();
    if (slots.length > 1) await vault.commit();
    actions.push(`rewrote superblock slot ${slots.join(" and ")}, which did not authenticate`);
  }
  const stale = await vault.staleHeaderCopies();
  if (stale.length > 0) {
    await vault.rewriteHeader();
    actions.push(`rewrote header copy ${stale.join(" and ")} from the copy in use`);
  }
  return { actions, remaining, forgotten };
}
