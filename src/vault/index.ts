/** The vault's public entry for api/. check/ may also read vault internals (format, record) to verify them. */
export { Vault, type VaultDeps, type CreateVaultOptions, type OpenVaultOptions } from "./vault.ts";
export type { SnapshotRef as VaultSnapshotRef } from "./checkpoint.ts";
export { rekeyVault, rekeyPath, type RekeyResult } from "./rekey.ts";
export { SalvageStore, type SalvageScan } from "./salvage.ts";
export { backupHeader, restoreHeader, type HeaderRestoreResult } from "./header-backup.ts";
export { EARLY_WORKER_MIN_VAULT_BYTES, StartedOpenWorker } from "./record-reader.ts";
