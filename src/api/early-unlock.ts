/**
 * Starting a vault's unlock before the rest of the library is loaded (issue 5). This module loads
 * only the header code, the KDF and its addon, so Argon2id (about half a second on its pool thread)
 * runs while node reads and compiles the other ~70 modules and the BLAKE3 and zstd addons: with a
 * cold page cache that loading is mostly waiting on the disk. Pass the result to SuedeVault.open.
 */
import { passphraseBytes } from "../crypto/kdf.ts";
import { EarlyUnlock } from "../vault/unlock.ts";
import type { Secret } from "./suede-vault.ts";

/** An unlock under way; SuedeVault.open uses it if the vault's header is unchanged when it opens. */
export class StartedUnlock {
  /** @internal */
  readonly early: EarlyUnlock;

  constructor(path: string, secret: Secret) {
    this.early = new EarlyUnlock(path, secretBytes(secret));
  }
}

/** Reads the vault's header and starts the key derivation; errors surface from SuedeVault.open. */
export function startUnlock(path: string, secret: Secret): StartedUnlock {
  return new StartedUnlock(path, secret);
}

export function secretBytes(secret: Secret): Uint8Array {
  return "passphrase" in secret ? passphraseBytes(secret.passphrase) : secret.keyFile;
}
