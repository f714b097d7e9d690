/**
 * Writing an opened blob's plaintext straight into a restore target's open file at its position,
 * on whichever thread opened the record (restore of a big file: the plaintext then never travels
 * to the main thread, issue 5). A failure is described in plain data so a worker can hand it back.
 */
import { writeSync } from "node:fs";

/** The plaintext was written: its length. */
export interface Written {
  readonly written: number;
}

/** The write failed: the OS error's code (ENOSPC, EIO, ...) and message. */
export interface WriteFailure {
  readonly writeError: string;
  readonly message: string;
}

/** Writes all of raw at position of fd (short writes resume where they stopped). */
export function writeOpened(fd: number, position: number, raw: Uint8Array): Written | WriteFailure {
  let done = 0;
  try {
    while (done < raw.byteLength) {
      const count = writeSync(fd, raw, done, raw.byteLength - done, position + done);
      if (count <= 0) return { writeError: "EIO", message: "write made no progress" };
      done += count;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { writeError: typeof code === "string" ? code : "EIO", message: error instanceof Error ? error.message : String(error) };
  }
  return { written: done };
}

/** The error a WriteFailure stands for: an errno-style Error, so callers map ENOSPC like any other. */
export function writeFailureError(failure: WriteFailure): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(failure.message);
  error.code = failure.writeError;
  return error;
}
