/** Human output helpers: sizes, times, tables, a progress line on stderr (terminal only). */
import type { Node } from "../core/types.ts";
import { displayPath } from "../fs/display-path.ts";

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

export function formatTime(timeMs: number): string {
  const date = new Date(timeMs);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const TYPE_CHAR: Readonly<Record<Node["type"], string>> = {
  file: "-",
  dir: "d",
  symlink: "l",
  fifo: "p",
  socket: "s",
  chardev: "c",
  blockdev: "b",
};

export function modeString(node: Node): string {
  const m = node.mode;
  const bit = (mask: number, c: string) => ((m & mask) !== 0 ? c : "-");
  const special = (exec: number, flag: number, on: string, onNoExec: string) =>
    (m & flag) !== 0 ? ((m & exec) !== 0 ? on : onNoExec) : bit(exec, "x");
  return (
    TYPE_CHAR[node.type] +
    bit(0o400, "r") + bit(0o200, "w") + special(0o100, 0o4000, "s", "S") +
    bit(0o40, "r") + bit(0o20, "w") + special(0o10, 0o2000, "s", "S") +
    bit(0o4, "r") + bit(0o2, "w") + special(0o1, 0o1000, "t", "T")
  );
}

/** A path for JSON: UTF-8 text when valid, else base64 of the raw bytes in a separate field. */
export function jsonPath(path: Uint8Array, field = "path"): Record<string, string> {
  const text = Buffer.from(path).toString("utf8");
  if (Buffer.compare(Buffer.from(text, "utf8"), path) === 0) return { [field]: text };
  return { [`${field}Base64`]: Buffer.from(path).toString("base64"), [field]: displayPath(path) };
}

/** A status line rewritten in place on stderr, only when stderr is a terminal. */
export class ProgressLine {
  private timer: NodeJS.Timeout | null = null;
  private readonly enabled = process.stderr.isTTY === true;

  start(render: () => string, intervalMs = 200): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => {
      const columns = process.stderr.columns ?? 80;
      process.stderr.write(`\r\x1b[K${render().slice(0, columns - 1)}`);
    }, intervalMs);
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    process.stderr.write("\r\x1b[K");
  }
}

/** Milliseconds since the epoch, rounded down (also before 1970, where bigint division rounds up). */
export function nsToMs(ns: bigint): number {
  const ms = ns / 1_000_000n;
  return Number(ns < 0n && ms * 1_000_000n !== ns ? ms - 1n : ms);
}
