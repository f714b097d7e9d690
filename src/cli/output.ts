/** Human output helpers: sizes, times, tables, a progress line on stderr (terminal only). */
import type { Node } from "../core/types.ts";
import { displayPath } from "../fs/display-path.ts";
import { formatMode } from "../util/human.ts";

export { formatBytes, formatTime } from "../util/human.ts";

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

export function modeString(node: Node): string {
  return formatMode(node.type, node.mode);
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
