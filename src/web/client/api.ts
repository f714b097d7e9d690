// The client's view of the server's JSON (src/web/api.ts) and one fetch helper.
export interface Stats {
  files: number;
  dirs: number;
  sizeBytes: number;
  filesNew: number;
  filesChanged: number;
  bytesAdded: number;
}
export interface SnapshotInfo {
  number: number;
  timeMs: number;
  host: string;
  user: string;
  paths: string[];
  tags: string[];
  pinned: boolean;
  stats: Stats;
}
export interface Entry {
  name: string;
  path: string;
  displayPath: string;
  type: string;
  mode: number;
  size: number;
  mtimeMs: number;
  user: string;
  group: string;
  uid: number;
  gid: number;
  linkTarget?: string;
  unreadable?: string;
  preview: "image" | "text" | "none";
}
export interface ListPage {
  snapshot: number;
  path: string;
  displayPath: string;
  total: number;
  offset: number;
  entries: Entry[];
}
export interface Version {
  snapshot: SnapshotInfo;
  node: Entry | null;
  changed: boolean;
}
export interface ChangeInfo {
  kind: "added" | "removed" | "modified" | "metadata" | "type";
  path: string;
  displayPath: string;
  before: Entry | null;
  after: Entry | null;
}
export interface DiffPage {
  path: string;
  displayPath: string;
  total: number;
  offset: number;
  counts: Record<ChangeInfo["kind"], number>;
  /** Sizes of the changed files before and after. */
  bytesBefore: number;
  bytesAfter: number;
  changes: ChangeInfo[];
}
export interface KeySlot {
  index: number;
  kind: string;
  kdf: { memoryKiB?: number; iterations?: number; parallelism?: number };
  createdMs: number | null;
  unlocked: boolean;
  belowFloor: boolean;
}
export interface Info {
  path: string;
  formatVersion: number;
  fileSizeBytes: number;
  liveBytes: number;
  referencedBytes: number | null;
  garbageBytes: number | null;
  snapshots: number;
  blobs: number;
  chunks: number;
  uniqueDataBytes: number;
  logicalBytes: number;
  deduplicationRatio: number;
  compressionRatio: number;
  keySlots: KeySlot[];
}

export const PAGE = 200;

export async function getJson<T>(path: string, params: Record<string, string | number> = {}): Promise<T> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const response = await fetch(`/api/${path}?${query}`, { credentials: "same-origin" });
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

export function fileUrl(snapshot: number, path: string, extra: Record<string, string> = {}): string {
  return `/api/file?${new URLSearchParams({ s: String(snapshot), p: path, ...extra })}`;
}

export async function fetchText(snapshot: number, path: string): Promise<string> {
  const response = await fetch(fileUrl(snapshot, path, { head: "1" }));
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return new TextDecoder().decode(await response.arrayBuffer());
}

/** base64url of a UTF-8 path typed or built in the client (paths from the server are already encoded). */
export function encodePath(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function decodePath(encoded: string): string {
  if (encoded === "") return "/";
  const binary = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
