/**
 * Re-key (FORMAT.md §9.5): a new master key for the whole vault, for real revocation. Every live
 * record is re-sealed under the new key into a new file next to the vault (`VAULT.rekey`), which
 * is committed as it grows and then renamed over the vault. The old file is never written, so a
 * crash at any instant leaves either the old vault (with every old key) or the finished new one;
 * an interrupted re-key resumes from the new file's last commit. Blob IDs and chunk boundaries
 * are kept (identity keys in the checkpoint), so no tree is rewritten.
 */
import { rename, statfs, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import type { KdfParams } from "../crypto/kdf.ts";
import { SuedeError, isErrno } from "../errors/errors.ts";
import { bytesEqual } from "../util/bytes.ts";
import type { BlobEntry, BlobIndex, LiveSet } from "./blob-index.ts";
import type { SlotKind } from "./header.ts";
import { Vault, type VaultDeps } from "./vault.ts";
import { syncDirectory } from "./vault-file.ts";

export interface RekeyOptions {
  /** The secret of the new file's only key slot. */
  readonly secret: Uint8Array;
  readonly slotKind: SlotKind;
  readonly kdf: KdfParams;
  readonly deps: VaultDeps;
  readonly signal?: AbortSignal;
  readonly onProgress?: (copiedBytes: number, totalBytes: number) => void;
}

export interface RekeyResult {
  /** Whether an interrupted re-key's file was picked up. */
  readonly resumed: boolean;
  readonly recordsCopied: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** The new file is committed every this many bytes, so an interrupted re-key loses at most this much work. */
const REKEY_COMMIT_BYTES = 256 * 1024 * 1024;
/** Contiguous records are read together up to this size. */
const REKEY_READ_BYTES = 8 * 1024 * 1024;

export function rekeyPath(vaultPath: string): string {
  return `${vaultPath}.rekey`;
}

/**
 * Copies every blob in `live` (plus the snapshot list) from source, which the caller holds open
 * for writing (so nothing else changes it), into a new file under a new master key, then replaces
 * the source file with it. The source session must be closed afterwards; it no longer names the file.
 */
export async function rekeyVault(source: Vault, live: LiveSet, options: RekeyOptions): Promise<RekeyResult> {
  const path = rekeyPath(source.path);
  const bytesBefore = source.fileEnd;
  const { target, resumed } = await openTarget(source, path, options);
  try {
    const index = source.blobIndex;
    const pending = liveEntriesMissingFrom(source, live, target);
    let totalBytes = 0;
    for (const entry of pending) totalBytes += index.recordLengthOf(entry);
    await assertRoomFor(path, totalBytes);
    let copiedBytes = 0;
    let sinceCommit = 0;
    for (const group of contiguousGroups(index, pending)) {
      const first = group[0]!;
      const last = group[group.length - 1]!;
      const bytes = await source.readRaw(first.offset, last.offset + last.recordLength - first.offset);
      for (const entry of group) {
        if (options.signal?.aborted === true) {
          await target.commit();
          throw new SuedeError("CANCELLED", `re-key cancelled; run it again to resume (progress is kept in ${path})`);
        }
        const at = entry.offset - first.offset;
        const record = bytes.subarray(at, at + entry.recordLength);
        await target.putStoredBlob(entry.id, source.openStoredRecord(record, entry.offset, entry.id, entry.kind));
        copiedBytes += entry.recordLength;
        sinceCommit += entry.recordLength;
        options.onProgress?.(copiedBytes, totalBytes);
      }
      if (sinceCommit >= REKEY_COMMIT_BYTES) {
        await target.commit();
        sinceCommit = 0;
      }
    }
    target.adoptSnapshots(source.snapshots, source.nextSnapshotNumber);
    await target.commit({ fullIndex: true });
    const bytesAfter = target.fileEnd;
    await target.close();
    await rename(path, source.path);
    await syncDirectory(dirname(source.path));
    return { resumed, recordsCopied: pending.length, bytesBefore, bytesAfter };
  } finally {
    await target.close();
  }
}

/** Opens an interrupted re-key's file when it belongs to this vault and the secret opens it; else starts anew. */
async function openTarget(source: Vault, path: string, options: RekeyOptions): Promise<{ target: Vault; resumed: boolean }> {
  try {
    const target = await Vault.open(path, { secret: options.secret, writable: true, deps: options.deps });
    const identity = source.identityKeys;
    if (
      bytesEqual(target.vaultId, source.vaultId) &&
      bytesEqual(target.identityKeys.blobId, identity.blobId) &&
      bytesEqual(target.identityKeys.chunker, identity.chunker)
    ) {
      return { target, resumed: true };
    }
    await target.close();
  } catch (error) {
    if (error instanceof SuedeError && error.code === "VAULT_LOCKED") throw error;
    // Not there, made with another secret, or damaged: start anew; only progress is lost.
  }
  await unlink(path).catch((error: unknown) => {
    if (!isErrno(error, "ENOENT")) throw error;
  });
  await Vault.create(path, {
    secret: options.secret,
    slotKind: options.slotKind,
    kdf: options.kdf,
    deps: options.deps,
    rekeyOf: { vaultId: source.vaultId, identityKeys: source.identityKeys },
  });
  return { target: await Vault.open(path, { secret: options.secret, writable: true, deps: options.deps }), resumed: false };
}

/** Index entry numbers of the live blobs the new file does not hold yet, in log order (sequential reads). */
function liveEntriesMissingFrom(source: Vault, live: LiveSet, target: Vault): Int32Array {
  const index = source.blobIndex;
  const numbers: number[] = [];
  for (let entry = 0; entry < index.size; entry++) if (live.hasEntry(entry) && !target.hasBlob(index.idOf(entry))) numbers.push(entry);
  return Int32Array.from(numbers).sort((a, b) => index.offsetOf(a) - index.offsetOf(b));
}

/** Runs of adjacent records, at most REKEY_READ_BYTES each; objects only for the run at hand. */
function* contiguousGroups(index: BlobIndex, entries: Int32Array): Generator<BlobEntry[]> {
  let group: BlobEntry[] = [];
  let groupBytes = 0;
  for (const number of entries) {
    const entry = { ...index.entryAt(number), id: Uint8Array.from(index.idOf(number)) };
    const previous = group[group.length - 1];
    if (previous !== undefined && (previous.offset + previous.recordLength !== entry.offset || groupBytes + entry.recordLength > REKEY_READ_BYTES)) {
      yield group;
      group = [];
      groupBytes = 0;
    }
    group.push(entry);
    groupBytes += entry.recordLength;
  }
  if (group.length > 0) yield group;
}

/** Fails before writing when the file system cannot hold the copy (plus its index and 64 MiB of slack). */
async function assertRoomFor(path: string, bytes: number): Promise<void> {
  const needed = bytes + 64 * 1024 * 1024;
  const fs = await statfs(dirname(path));
  const available = Number(fs.bavail) * Number(fs.bsize);
  if (available < needed) {
    throw new SuedeError(
      "FAILED",
      `re-key needs about ${Math.ceil(needed / 1048576)} MiB free next to the vault (a re-encrypted copy is written, then renamed over it); ${Math.floor(available / 1048576)} MiB are free`,
    );
  }
}
