/**
 * Human-readable sizes, times and modes, shared by the CLI and the web client (which bundles this
 * file for the browser: no Node imports here).
 */

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Local time, to the second: 2026-11-27 06:55:11. */
export function formatTime(timeMs: number): string {
  const date = new Date(timeMs);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

const TYPE_CHAR: Readonly<Record<string, string>> = {
  file: "-",
  dir: "d",
  symlink: "l",
  fifo: "p",
  socket: "s",
  chardev: "c",
  blockdev: "b",
};

/** As `ls -l` shows it: type letter, then rwx for owner, group and others with setuid/setgid/sticky. */
export function formatMode(type: string, mode: number): string {
  const bit = (mask: number, c: string) => ((mode & mask) !== 0 ? c : "-");
  const special = (exec: number, flag: number, on: string, onNoExec: string) =>
    (mode & flag) !== 0 ? ((mode & exec) !== 0 ? on : onNoExec) : bit(exec, "x");
  return (
    (TYPE_CHAR[type] ?? "?") +
    bit(0o400, "r") + bit(0o200, "w") + special(0o100, 0o4000, "s", "S") +
    bit(0o40, "r") + bit(0o20, "w") + special(0o10, 0o2000, "s", "S") +
    bit(0o4, "r") + bit(0o2, "w") + special(0o1, 0o1000, "t", "T")
  );
}
