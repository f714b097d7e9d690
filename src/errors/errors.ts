/**
 * Typed errors. Operating errors are SuedeError with a code callers can switch on; damage found in a
 * vault is always VaultCorruptError with the offset; bugs are AssertionError (util/assert.ts).
 */
export type SuedeErrorCode =
  | "FAILED"
  | "USAGE"
  | "PARTIAL_BACKUP"
  | "VAULT_NOT_FOUND"
  | "VAULT_EXISTS"
  | "VAULT_LOCKED"
  | "WRONG_PASSPHRASE"
  | "NO_PASSPHRASE"
  | "NOT_A_VAULT"
  | "VAULT_CORRUPT"
  | "UNSUPPORTED_FORMAT_VERSION"
  | "VAULT_CHANGED"
  | "SNAPSHOT_NOT_FOUND"
  | "PATH_NOT_FOUND"
  | "SOURCE_UNREADABLE"
  | "TARGET_NOT_EMPTY"
  | "TARGET_UNWRITABLE"
  | "RESTORE_INCOMPLETE"
  | "IO"
  | "NO_SPACE"
  | "CANCELLED"
  | "FUSE_UNAVAILABLE"
  | "BAD_HEADER_BACKUP";

export class SuedeError extends Error {
  override name = "SuedeError";
  constructor(
    readonly code: SuedeErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Bytes of the vault that fail to parse or authenticate. offsetBytes is where in the file. */
export class VaultCorruptError extends SuedeError {
  override name = "VaultCorruptError";
  constructor(
    readonly offsetBytes: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super("VAULT_CORRUPT", `vault damaged at offset ${offsetBytes}: ${detail}`, options);
  }
}

export class UsageError extends SuedeError {
  override name = "UsageError";
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** Maps an OS error from a vault write to a SuedeError; a failed fsync is never retried. */
export function ioError(action: string, cause: unknown): SuedeError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new SuedeError("NO_SPACE", `no space left on device while ${action}`, { cause });
  }
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new SuedeError("IO", `I/O error while ${action}: ${reason}`, { cause });
}

export function isErrno(error: unknown, ...codes: string[]): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && codes.includes(code);
}
