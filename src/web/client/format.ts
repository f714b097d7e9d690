// Display helpers: sizes, times, modes.
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export function time(ms: number): string {
  const d = new Date(ms);
  const pad = (v: number) => String(v).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const TYPE_CHAR: Record<string, string> = { dir: "d", symlink: "l", file: "-", fifo: "p", socket: "s", chardev: "c", blockdev: "b" };

export function mode(type: string, bits: number): string {
  const rwx = (v: number) => `${v & 4 ? "r" : "-"}${v & 2 ? "w" : "-"}${v & 1 ? "x" : "-"}`;
  return `${TYPE_CHAR[type] ?? "?"}${rwx(bits >> 6)}${rwx(bits >> 3)}${rwx(bits)}`;
}
