/** The vault's public entry: what api/ and check/ may use. */
export { Vault, type VaultDeps, type CreateVaultOptions, type OpenVaultOptions } from "./vault.ts";
export type { SnapshotRef as VaultSnapshotRef } from "./checkpoint.ts";
