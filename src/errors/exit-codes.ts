/** The one table from error codes to process exit codes. docs/CLI.md repeats it. */
import type { SuedeErrorCode } from "./errors.ts";

export const EXIT_OK = 0;

export const EXIT_CODES: Readonly<Record<SuedeErrorCode, number>> = {
  FAILED: 1,
  USAGE: 2,
  PARTIAL_BACKUP: 3,
  VAULT_NOT_FOUND: 10,
  VAULT_EXISTS: 1,
  VAULT_LOCKED: 11,
  WRONG_PASSPHRASE: 12,
  NO_PASSPHRASE: 2,
  NOT_A_VAULT: 13,
  VAULT_CORRUPT: 13,
  UNSUPPORTED_FORMAT_VERSION: 14,
  VAULT_CHANGED: 1,
  SNAPSHOT_NOT_FOUND: 1,
  PATH_NOT_FOUND: 1,
  SOURCE_UNREADABLE: 1,
  TARGET_NOT_EMPTY: 1,
  TARGET_UNWRITABLE: 1,
  RESTORE_INCOMPLETE: 1,
  IO: 1,
  NO_SPACE: 1,
  CANCELLED: 130,
  FUSE_UNAVAILABLE: 15,
  BAD_HEADER_BACKUP: 1,
};
