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
