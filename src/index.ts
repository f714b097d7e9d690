/** suede as a library: `import { SuedeVault } from "suede"`. */
export {
  SuedeVault,
  type BackupPreparation,
  type BackupOptions,
  type BackupResult,
  type CreateOptions,
  type HeaderRestoreResult,
  type HistoryEntry,
  type KeySlotInfo,
  type PruneResult,
  type RekeyResult,
  type VaultInfo,
  type ListEntry,
  type OpenOptions,
  type RestoreOptions,
  type RestoreResult,
  type Secret,
  type SnapshotRef,
} from "./api/suede-vault.ts";
export { startUnlock, type StartedUnlock } from "./api/early-unlock.ts";
/** The CLI's guard against a lost wake-up of libuv's pool (glibc bug): call it once in a program that embeds suede. */
export { startPoolNudge } from "./fs/pool-nudge.ts";
export type { CheckProblem, CheckReport } from "./check/check.ts";
export type { RepairReport } from "./check/repair.ts";
export type { SalvageReport, SalvagedSnapshot } from "./api/salvage.ts";
export type { Node, NodeType, Snapshot, SnapshotStats, ChunkRef } from "./core/types.ts";
export type { KdfParams } from "./crypto/kdf.ts";
export { SuedeError, VaultCorruptError, type SuedeErrorCode } from "./errors/errors.ts";
export { EXIT_CODES } from "./errors/exit-codes.ts";
export type { Change, ChangeKind } from "./snapshot/diff.ts";
export type { RetentionDecision, RetentionPolicy } from "./snapshot/retention.ts";
