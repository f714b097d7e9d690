/**
 * The JSON and file endpoints of the web UI, over the public SuedeVault API only; none changes the vault.
 * Snapshots are immutable and their numbers never reused, so anything keyed by snapshot number stays valid.
 */
import { Readable } from "node:stream";
import { Hono } from "hono";
import type { Context } from "hono";
import type { ListEntry, SnapshotRef, SuedeVault } from "../api/suede-vault.ts";
import type { Node, Snapshot } from "../core/types.ts";
import { SuedeError } from "../errors/errors.ts";
import { displayPath } from "../fs/display-path.ts";
import type { Change } from "../snapshot/diff.ts";
import { tarStream, zipStream } from "./archive.ts";
import { contentTypeFor, previewKind } from "./content-type.ts";
import { decodePathParam, encodePathParam, relativeTo } from "./paths.ts";

export const PAGE_DEFAULT = 200;
export const PAGE_MAX = 1000;
/** Text preview and diff read at most this many bytes of a file. */
export const TEXT_PREVIEW_BYTES = 1 << 20;

type SortKey = "name" | "size" | "mtime" | "type";

function nodeJson(node: Node, path: Uint8Array): Record<string, unknown> {
  return {
    name: displayPath(node.name),
    path: encodePathParam(path),
    displayPath: displayPath(path),
    type: node.type,
    mode: node.mode,
    size: node.sizeBytes,
    mtimeMs: Number(node.mtimeNs / 1_000_000n),
    uid: node.uid,
    gid: node.gid,
    user: node.user,
    group: node.group,
    nlink: node.nlink,
    ...(node.linkTarget !== undefined ? { linkTarget: displayPath(node.linkTarget) } : {}),
    ...(node.unreadable !== undefined ? { unreadable: node.unreadable } : {}),
    preview: node.type === "file" ? previewKind(displayPath(node.name)) : "none",
  };
}

function snapshotJson(s: Snapshot): Record<string, unknown> {
  return { number: s.number, timeMs: s.timeMs, host: s.host, user: s.user, paths: s.paths, tags: s.tags, pinned: s.pinned, parent: s.parent, stats: s.stats };
}

function intParam(c: Context, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = c.req.query(name);
  if (text === undefined || text === "") return fallback;
  if (!/^\d{1,15}$/.test(text)) throw new SuedeError("USAGE", `${name} must be a whole number`);
  return Math.min(Number(text), max);
}

function snapshotParam(c: Context, name = "s"): SnapshotRef {
  const text = c.req.query(name) ?? "latest";
  if (text === "latest") return "latest";
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new SuedeError("USAGE", `${name} must be a snapshot number`);
  return Number(text);
}

function compare(sort: SortKey): (a: Node, b: Node) => number {
  switch (sort) {
    case "size":
      return (a, b) => a.sizeBytes - b.sizeBytes || Buffer.compare(a.name, b.name);
    case "mtime":
      return (a, b) => (a.mtimeNs < b.mtimeNs ? -1 : a.mtimeNs > b.mtimeNs ? 1 : Buffer.compare(a.name, b.name));
    case "type":
      return (a, b) => a.type.localeCompare(b.type) || Buffer.compare(a.name, b.name);
    case "name":
      return (a, b) => Buffer.compare(a.name, b.name);
  }
}

/** Streams a byte source to the response; errors after the headers end the stream. */
function streamResponse(c: Context, source: Readable, headers: Record<string, string>): Response {
  source.on("error", () => undefined);
  return c.body(Readable.toWeb(source) as ReadableStream, 200, headers);
}

function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function apiRoutes(vault: SuedeVault): Hono {
  const api = new Hono();

  api.get("/snapshots", async (c) => {
    await vault.refresh(); // a backup that ran since the UI started shows up on the timeline
    return c.json((await vault.listSnapshots()).map(snapshotJson));
  });

  api.get("/info", async (c) => {
    const info = await vault.info();
    return c.json(info);
  });

  api.get("/stat", async (c) => {
    const path = decodePathParam(c.req.query("p"));
    const ref = snapshotParam(c);
    const snapshot = await vault.getSnapshot(ref);
    return c.json({ snapshot: snapshot.number, node: path.length === 1 ? null : nodeJson(await vault.stat(snapshot.number, path), path) });
  });

  // One page of a folder. Only that folder level is read (never the whole snapshot), and the last
  // folder listed is kept, so paging, sorting and filtering it again do not re-read its tree.
  let lastFolder: { key: string; entries: ListEntry[] } | null = null;
  const folderEntries = async (snapshot: number, path: Buffer): Promise<ListEntry[]> => {
    const key = `${snapshot}:${path.toString("base64url")}`;
    if (lastFolder?.key !== key) {
      const entries: ListEntry[] = [];
      for await (const entry of vault.list(snapshot, { path })) entries.push(entry);
      lastFolder = { key, entries };
    }
    return lastFolder.entries;
  };

  api.get("/list", async (c) => {
    const path = decodePathParam(c.req.query("p"));
    const snapshot = await vault.getSnapshot(snapshotParam(c));
    const offset = intParam(c, "offset", 0);
    const limit = Math.max(1, intParam(c, "limit", PAGE_DEFAULT, PAGE_MAX));
    const sort = (["name", "size", "mtime", "type"] as const).find((k) => k === c.req.query("sort")) ?? "name";
    const descending = c.req.query("order") === "desc";
    const filter = (c.req.query("filter") ?? "").toLowerCase();
    if (path.length > 1 && (await vault.stat(snapshot.number, path)).type !== "dir") throw new SuedeError("USAGE", "not a folder");
    let entries = await folderEntries(snapshot.number, path);
    if (filter !== "") entries = entries.filter((e) => displayPath(e.node.name).toLowerCase().includes(filter));
    if (sort !== "name" || descending) {
      const order = compare(sort);
      entries = [...entries].sort((a, b) => (descending ? -order(a.node, b.node) : order(a.node, b.node)));
    }
    const page = entries.slice(offset, offset + limit);
    return c.json({ snapshot: snapshot.number, path: encodePathParam(path), displayPath: displayPath(path), total: entries.length, offset, entries: page.map((e) => nodeJson(e.node, e.path)) });
  });

  api.get("/history", async (c) => {
    const path = decodePathParam(c.req.query("p"));
    const versions = [];
    for await (const entry of vault.history(path)) {
      versions.push({ snapshot: snapshotJson(entry.snapshot), node: entry.node === null ? null : nodeJson(entry.node, path), changed: entry.changed });
    }
    return c.json({ path: encodePathParam(path), displayPath: displayPath(path), versions });
  });

  // Changes between two snapshots, optionally only below one folder, paged.
  api.get("/diff", async (c) => {
    const a = snapshotParam(c, "a");
    const b = snapshotParam(c, "b");
    const under = decodePathParam(c.req.query("p"));
    const offset = intParam(c, "offset", 0);
    const limit = Math.max(1, intParam(c, "limit", PAGE_DEFAULT, PAGE_MAX));
    const counts = { added: 0, removed: 0, modified: 0, metadata: 0, type: 0 };
    let bytesAfter = 0;
    let bytesBefore = 0;
    let total = 0;
    const page: Change[] = [];
    for await (const change of vault.diff(a, b)) {
      if (relativeTo(under, change.path) === null) continue;
      counts[change.kind]++;
      bytesAfter += change.after?.type === "file" ? change.after.sizeBytes : 0;
      bytesBefore += change.before?.type === "file" ? change.before.sizeBytes : 0;
      if (total >= offset && total < offset + limit) page.push(change);
      total++;
    }
    return c.json({
      path: encodePathParam(under),
      displayPath: displayPath(under),
      total,
      offset,
      counts,
      bytesAfter,
      bytesBefore,
      changes: page.map((ch) => ({
        kind: ch.kind,
        path: encodePathParam(ch.path),
        displayPath: displayPath(ch.path),
        before: ch.before === null ? null : nodeJson(ch.before, ch.path),
        after: ch.after === null ? null : nodeJson(ch.after, ch.path),
      })),
    });
  });

  // A file's bytes: inline for previews (typed, sandboxed), or as a download. Range of text for diffs via ?limit.
  api.get("/file", async (c) => {
    const path = decodePathParam(c.req.query("p"));
    const ref = snapshotParam(c);
    const node = await vault.stat(ref, path);
    if (node.type !== "file") throw new SuedeError("USAGE", "not a regular file");
    // Refused before the headers go out: a stream cannot report an error once it has started.
    if (node.unreadable !== undefined) throw new SuedeError("FAILED", `this file could not be read at backup time (${node.unreadable})`);
    const download = c.req.query("download") === "1";
    const head = c.req.query("head") === "1";
    const name = displayPath(node.name);
    const length = head ? Math.min(node.sizeBytes, TEXT_PREVIEW_BYTES) : node.sizeBytes;
    const headers: Record<string, string> = {
      "Content-Type": download ? "application/octet-stream" : contentTypeFor(name),
      "Content-Length": String(length),
      // A previewed file is a document of its own: no scripts, no plugins, only itself.
      "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
    };
    if (download) headers["Content-Disposition"] = attachment(name);
    return streamResponse(c, Readable.from(vault.readFile(node, { lengthBytes: length })), headers);
  });

  api.get("/archive", async (c) => {
    const path = decodePathParam(c.req.query("p"));
    const ref = snapshotParam(c);
    const format = c.req.query("format");
    if (format !== "tar" && format !== "zip") throw new SuedeError("USAGE", "format must be tar or zip");
    const snapshot = await vault.getSnapshot(ref);
    const base = path.length === 1 ? `snapshot-${snapshot.number}` : displayPath(path).split("/").pop()!;
    const source = format === "tar" ? tarStream(vault, snapshot.number, path) : await zipStream(vault, snapshot.number, path);
    return streamResponse(c, source, {
      "Content-Type": format === "tar" ? "application/x-tar" : "application/zip",
      "Content-Disposition": attachment(`${base}.${format}`),
    });
  });

  return api;
}
