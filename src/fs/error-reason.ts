// How an OS error reads in a one-line message; its own module so the CLI can use it without loading node:fs code.

/**
 * The reason part of an error without the path Node puts into errno messages (it would show a Buffer
 * path lossily): "ENOENT: no such file or directory, open '/x'" → "no such file or directory (ENOENT)".
 */
export function errorReason(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as NodeJS.ErrnoException).code;
  if (typeof code === "string") {
    const match = /^[A-Z0-9_]+: ([^,]+)/.exec(cause.message);
    return match?.[1] !== undefined ? `${match[1]} (${code})` : code;
  }
  return cause.message;
}
