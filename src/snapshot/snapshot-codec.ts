/** Snapshot blobs (FORMAT.md §12): one msgpack array per snapshot. */
import { encode } from "@msgpack/msgpack";
import type { Snapshot, SnapshotStats } from "../core/types.ts";
import { decodeBounded } from "../util/msgpack.ts";

const SNAPSHOT_FORMAT_VERSION = 1;

const STAT_KEYS = [
  "files",
  "dirs",
  "sizeBytes",
  "filesNew",
  "filesChanged",
  "filesUnchanged",
  "bytesRead",
  "bytesAdded",
  "durationMs",
  "skipped",
] as const satisfies readonly (keyof SnapshotStats)[];

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  return encode([
    SNAPSHOT_FORMAT_VERSION,
    snapshot.number,
    snapshot.timeMs,
    snapshot.host,
    snapshot.user,
    snapshot.paths,
    snapshot.tags,
    snapshot.pinned,
    snapshot.parent,
    snapshot.root,
    STAT_KEYS.map((key) => snapshot.stats[key]),
  ]);
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");

/** Throws Error with a reason; callers wrap it as VaultCorruptError. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const value = decodeBounded(bytes);
  if (!Array.isArray(value) || value.length !== 11 || value[0] !== SNAPSHOT_FORMAT_VERSION) throw new Error("snapshot shape");
  const [, number, timeMs, host, user, paths, tags, pinned, parent, root, stats] = value as unknown[];
  if (!isCount(number) || !isCount(timeMs) || typeof host !== "string" || typeof user !== "string") throw new Error("snapshot fields");
  if (!isStrings(paths) || !isStrings(tags) || typeof pinned !== "boolean") throw new Error("snapshot lists");
  if (parent !== null && !isCount(parent)) throw new Error("snapshot parent");
  if (!Array.isArray(root) || !root.every((id) => id instanceof Uint8Array && id.byteLength === 32)) throw new Error("snapshot root");
  if (!Array.isArray(stats) || stats.length !== STAT_KEYS.length || !stats.every(isCount)) throw new Error("snapshot stats");
  const statsObject = Object.fromEntries(STAT_KEYS.map((key, i) => [key, stats[i] as number])) as unknown as SnapshotStats;
  return { number, timeMs, host, user, paths, tags, pinned, parent, root: root as Uint8Array[], stats: statsObject };
}
