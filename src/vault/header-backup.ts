/**
 * Header backup and restore (FORMAT.md §3.7), like `cryptsetup luksHeaderBackup/Restore`. A header
 * backup file is the exact bytes of the vault's header region (both copies, 8192 bytes). Everything
 * else in the vault is sealed under the master key the header's slots wrap, so a vault whose two
 * header copies are both destroyed opens again once a backup is written back — and only a backup
 * of THIS vault (same master key, so its records authenticate) is ever written back.
 */
import { dirname, resolve } from "node:path";
import { SuedeError } from "../errors/errors.ts";
import { HEADER_COPY_OFFSETS, HEADER_COPY_SIZE_BYTES, LOG_START_OFFSET } from "./format.ts";
import { type VaultHeader, decodeHeaderCopy, encodeHeaderCopy } from "./header.ts";
import { VaultLock } from "./lock.ts";
import { authenticRecordAt, readHeader, readSuperblocks } from "./recover.ts";
import type { RecordKeys } from "./record.ts";
import { unlockVerified } from "./vault.ts";
import { VaultFile, discardFile, syncDirectory } from "./vault-file.ts";

/** Both header copies, back to back: the whole header region and so the size of a header backup file. */
export const HEADER_REGION_SIZE_BYTES = 2 * HEADER_COPY_SIZE_BYTES;

/** The valid copies in a header region, newest first; throws when none is valid. */
function copiesIn(region: Uint8Array, what: string): VaultHeader[] {
  const valid: VaultHeader[] = [];
  for (const copy of [0, 1] as const) {
    const start = HEADER_COPY_OFFSETS[copy];
    const decoded = decodeHeaderCopy(region.subarray(start, start + HEADER_COPY_SIZE_BYTES), copy);
    if ("vaultId" in decoded) valid.push(decoded);
  }
  if (valid.length === 0) throw new SuedeError("BAD_HEADER_BACKUP", `${what} holds no intact suede header copy`);
  return valid.sort((a, b) => b.sequence - a.sequence);
}

/** Reads a header backup file and checks its shape (exact size, at least one intact copy). */
export async function readHeaderBackup(file: string): Promise<{ region: Uint8Array; candidates: VaultHeader[] }> {
  let handle: VaultFile;
  try {
    handle = await VaultFile.open(file, { writable: false });
  } catch (error) {
    if (error instanceof SuedeError && error.code === "VAULT_NOT_FOUND") throw new SuedeError("BAD_HEADER_BACKUP", `header backup not found: ${file}`, { cause: error });
    throw error;
  }
  let region: Uint8Array;
  try {
    const size = await handle.sizeBytes();
    if (size !== HEADER_REGION_SIZE_BYTES) {
      throw new SuedeError("BAD_HEADER_BACKUP", `${file} is not a suede header backup (${size} bytes; a header backup is exactly ${HEADER_REGION_SIZE_BYTES})`);
    }
    region = await handle.readAt(0, HEADER_REGION_SIZE_BYTES);
  } finally {
    await handle.close();
  }
  return { region, candidates: copiesIn(region, `${file} is not a suede header backup: it`) };
}

/** The header copies (newest first) of a header backup file, for salvage to unlock with. */
export async function headerBackupCandidates(file: string): Promise<VaultHeader[]> {
  return (await readHeaderBackup(file)).candidates;
}

/**
 * Writes the vault's header region, byte for byte, to `file` (mode 0600, never over an existing
 * file), after the secret unlocks a copy whose MAC verifies — so the backup is known to open.
 */
export async function backupHeader(vaultPath: string, secret: Uint8Array, file: string): Promise<{ sizeBytes: number }> {
  const vault = await VaultFile.open(vaultPath, { writable: false });
  let region: Buffer;
  try {
    // Judged as an open judges it (NOT_A_VAULT, "both header copies are damaged"), then copied as it is.
    const { candidates } = await readHeader(vault);
    await unlockVerified(candidates, secret);
    region = await vault.readAt(0, HEADER_REGION_SIZE_BYTES);
  } finally {
    await vault.close();
  }
  // O_CREAT|O_EXCL, mode 0600: never over an existing file, never readable by others (it holds key slots).
  const out = await VaultFile.open(file, { writable: true, create: true });
  try {
    await out.writeAt(0, [region]);
    await out.sync();
    await out.close();
    await syncDirectory(dirname(resolve(file)));
  } catch (error) {
    await out.close().catch(() => undefined);
    await discardFile(file);
    throw error;
  }
  return { sizeBytes: region.byteLength };
}

export interface HeaderRestoreResult {
  /** Sequence of the header written to both copies. */
  readonly sequence: number;
}

/**
 * Writes a header backup back into the vault: the secret must unlock a copy of the backup whose MAC
 * verifies, and the master key it yields must authenticate the vault's superblock or first log
 * record (a header of another vault, or from before a re-key, is refused and nothing is written).
 * Under the writer lock, copy 0 is written and synced, then copy 1 (the order key changes use).
 */
export async function restoreHeader(vaultPath: string, secret: Uint8Array, file: string, nowMs: number): Promise<HeaderRestoreResult> {
  const { candidates } = await readHeaderBackup(file);
  const { header, keys } = await unlockVerified(candidates, secret);
  const lock = await VaultLock.acquire(vaultPath, nowMs);
  try {
    const vault = await VaultFile.open(vaultPath, { writable: true });
    try {
      const recordKeys: RecordKeys = { vaultId: header.vaultId, recordBase: keys.record };
      if (!(await belongsTo(vault, recordKeys))) {
        throw new SuedeError(
          "BAD_HEADER_BACKUP",
          `${file} is not a header of ${vaultPath}: no superblock or record of the vault opens with its key (another vault, or a backup from before a re-key); nothing was written`,
        );
      }
      // The verified header goes to both copies, so a damaged or older second copy in the file is not copied back.
      await vault.writeAt(HEADER_COPY_OFFSETS[0], [encodeHeaderCopy(header, 0)]);
      await vault.sync();
      await vault.writeAt(HEADER_COPY_OFFSETS[1], [encodeHeaderCopy(header, 1)]);
      await vault.sync();
      return { sequence: header.sequence };
    } finally {
      await vault.close();
    }
  } finally {
    await lock.release();
  }
}

/** True when a superblock slot or the first log record authenticates under these keys (AEAD: never by chance). */
async function belongsTo(vault: VaultFile, keys: RecordKeys): Promise<boolean> {
  if ((await readSuperblocks(vault, keys)).length > 0) return true;
  return authenticRecordAt(vault, keys, LOG_START_OFFSET);
}
