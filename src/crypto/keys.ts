/**
 * Subkeys derived from the vault's master key (FORMAT.md §4 "Keys"). One HKDF-SHA256 per purpose,
 * salted with the vault UUID, so no key serves two roles.
 */
import { createHash, createHmac, hkdfSync } from "node:crypto";
import { assert } from "../util/assert.ts";

/** Master and derived keys. Here, not in kdf.ts, so file workers do not load the argon2 addon. */
export const KEY_SIZE_BYTES = 32;

export type KeyPurpose = "record" | "blob-id" | "chunker" | "header-mac";

export interface VaultKeys {
  /** Base key of the per-record keys (recordKey). */
  readonly record: Uint8Array;
  /** Key of the keyed BLAKE3 that names blobs. */
  readonly blobId: Uint8Array;
  /** Key of the chunker's gear table. */
  readonly chunker: Uint8Array;
  /** HMAC-SHA256 key over the public header fields. */
  readonly headerMac: Uint8Array;
}

export function deriveSubkey(master: Uint8Array, vaultId: Uint8Array, purpose: KeyPurpose): Uint8Array {
  assert(master.byteLength === KEY_SIZE_BYTES, "master key must be 32 bytes");
  const info = Buffer.from(`suede v1 ${purpose}`, "ascii");
  return new Uint8Array(hkdfSync("sha256", master, vaultId, info, KEY_SIZE_BYTES));
}

export function deriveVaultKeys(master: Uint8Array, vaultId: Uint8Array): VaultKeys {
  return {
    record: deriveSubkey(master, vaultId, "record"),
    blobId: deriveSubkey(master, vaultId, "blob-id"),
    chunker: deriveSubkey(master, vaultId, "chunker"),
    headerMac: deriveSubkey(master, vaultId, "header-mac"),
  };
}

/**
 * The key of one record: HMAC-SHA256(recordBase, salt) with a fresh random 16-byte salt per
 * record, so every record has its own AES key and a (key, nonce) pair never repeats whatever
 * happens to the file (rollback, two writers). The chance that any two of n records share a salt
 * is about n²/2^129: 2^-33 after 2^48 records (FORMAT.md §4).
 */
export function recordKey(recordBase: Uint8Array, salt: Uint8Array): Buffer {
  return createHmac("sha256", recordBase).update(salt).digest();
}

export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
}
