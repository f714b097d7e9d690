// The one wording of an OS error on a restore target path.
import { SuedeError, isErrno } from "../errors/errors.ts";
import { displayPath } from "./display-path.ts";
import { errorReason } from "./error-reason.ts";

/** Wraps an OS error on a target path: NO_SPACE for ENOSPC/EDQUOT, else TARGET_UNWRITABLE. SuedeErrors pass. */
export function targetError(path: Uint8Array, cause: unknown): SuedeError {
  if (cause instanceof SuedeError) return cause;
  if (isErrno(cause, "ENOSPC", "EDQUOT")) {
    return new SuedeError("NO_SPACE", `no space left on device while writing ${displayPath(path)}`, { cause });
  }
  return new SuedeError("TARGET_UNWRITABLE", `cannot write ${displayPath(path)}: ${errorReason(cause)}`, { cause });
}

/** Why opening a file to restore it failed: a symlink in the entry's place is named as such. */
export function openForWriteError(path: Uint8Array, cause: unknown): SuedeError {
  if (isErrno(cause, "ELOOP")) return new SuedeError("TARGET_UNWRITABLE", `cannot write ${displayPath(path)}: a symlink is in the way`, { cause });
  return targetError(path, cause);
}

export function notRegularFileError(path: Uint8Array): SuedeError {
  return new SuedeError("TARGET_UNWRITABLE", `cannot write ${displayPath(path)}: not a regular file`);
}

/**
 * Restoring an owner is best effort for other users (EPERM: the file keeps theirs), an error for
 * root, who can always chown.
 */
export function chownRefusalIsFatal(cause: unknown, isRoot: boolean): boolean {
  return isRoot || !isErrno(cause, "EPERM");
}
