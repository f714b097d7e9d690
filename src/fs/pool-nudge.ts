/**
 * A guard against a lost wake-up in glibc's condition variables (sourceware bug 25847; Debian 12's
 * glibc 2.36 has it): libuv's pool threads can all sleep while a request waits in their queue, and
 * the process then waits for ever with nothing to run until another request is queued. Seen on the
 * CI machine: a test's fs.promises call pending for 11 minutes with every pool thread idle in its
 * condition wait, released at once when one more fs.stat was queued from a debugger. The pool serves
 * every fs call, Argon2id and zstd's async work of every thread, so a request queued every second
 * wakes a sleeper if one was missed. The timer is unref'd (it never keeps a process alive) and costs
 * one stat a second.
 */
import { stat } from "node:fs";

const NUDGE_EVERY_MS = 1000;
let nudging: NodeJS.Timeout | null = null;

/** Starts the once-a-second pool request for this process (idempotent). */
export function startPoolNudge(): void {
  if (nudging !== null) return;
  nudging = setInterval(() => stat("/", () => undefined), NUDGE_EVERY_MS);
  nudging.unref();
}
