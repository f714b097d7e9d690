/**
 * The backup pipeline: walk → stat → (unchanged? reuse) → read+chunk+hash (chunk workers) → dedup
 * → compress+encrypt (seal workers) → append. Directories become tree parts bottom-up. Files whose
 * size, mtime, ctime and inode match the parent snapshot are not read again. Per-path failures go
 * through onError (skip or abort); the pipeline holds no UI logic.
 */
import { isAbsolute } from "node:path";
import { HOLE_ID, type BlobId } from "../core/ids.ts";
import type { BlobStore, SourceFs, SourceStat } from "../core/ports.ts";
import type { ChunkRef, Node } from "../core/types.ts";
import { SuedeError } from "../errors/errors.ts";
import { displayPath } from "../fs/display-path.ts";
import { joinPath } from "../fs/join.ts";
import { readTree } from "../snapshot/tree-reader.ts";
import { compareNames, encodeTreePart, isPartBoundary } from "../snapshot/tree-codec.ts";
import { assert } from "../util/assert.ts";
import { CHUNK_BYTES_IN_FLIGHT_MAX, FILES_IN_FLIGHT_MAX, TREE_DEPTH_MAX } from "../util/limits.ts";
import { type ChunkPool, FileReadError } from "./chunk-pool.ts";
import type { ChunkMessage } from "./chunk-worker.ts";
import { Semaphore } from "./semaphore.ts";

export type ErrorDecision = "skip" | "abort";

export interface BackupProgress {
  files: number;
  dirs: number;
  sizeBytes: number;
  filesNew: number;
  filesChanged: number;
  filesUnchanged: number;
  bytesRead: number;
  bytesStored: number;
  skipped: number;
  currentPath: string;
}

export function emptyProgress(): BackupProgress {
  return { files: 0, dirs: 0, sizeBytes: 0, filesNew: 0, filesChanged: 0, filesUnchanged: 0, bytesRead: 0, bytesStored: 0, skipped: 0, currentPath: "" };
}

export interface BackupOptions {
  /** Absolute source paths, as raw bytes. */
  readonly sources: readonly Buffer[];
  /** Root tree parts of the parent snapshot, for change detection; null for a first backup. */
  readonly parentRoot: readonly BlobId[] | null;
  readonly isExcluded: (path: Buffer, isDirectory: boolean) => boolean;
  readonly oneFileSystem: boolean;
  /** A path could not be read: skip it (the snapshot records it as unreadable) or abort. */
  readonly onError: (path: Buffer, error: Error) => ErrorDecision;
  /** Something worth telling that is not a failure (a file changed while it was read). */
  readonly onWarning: (path: Buffer, message: string) => void;
  readonly signal?: AbortSignal;
  readonly chunkPool: ChunkPool;
  readonly progress: BackupProgress;
  /** Files at most this size are read whole on the main thread (no chunking needed). */
  readonly smallFileMaxBytes: number;
}

interface Context extends BackupOptions {
  readonly store: BlobStore;
  readonly fs: SourceFs;
  readonly files: Semaphore;
  readonly bytes: Semaphore;
  /** Hard links seen in this run: (device, inode) → the chunks stored for the first name. */
  readonly hardlinks: Map<string, Promise<Pick<Node, "chunks" | "sizeBytes">>>;
}

/** The synthetic root: the sources by absolute path, with the directories above them. */
interface VirtualDir {
  readonly children: Map<string, VirtualDir | "source">;
}

function buildVirtualRoot(sources: readonly Buffer[]): VirtualDir {
  const root: VirtualDir = { children: new Map() };
  for (const source of sources) {
    assert(isAbsolute(source.toString("latin1")), "sources must be absolute");
    const parts = source.toString("latin1").split("/").filter((p) => p !== "" && p !== ".");
    if (parts.length === 0) throw new SuedeError("USAGE", "backing up / itself is not supported; name its directories");
    let dir = root;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      if (i === parts.length - 1) {
        dir.children.set(name, "source");
        break;
      }
      const existing = dir.children.get(name);
      if (existing === "source") break; // an ancestor is itself a source: it covers this one
      const next = existing ?? { children: new Map() };
      dir.children.set(name, next);
      dir = next;
    }
  }
  return root;
}

export async function backupTree(store: BlobStore, fs: SourceFs, options: BackupOptions): Promise<BlobId[]> {
  const context: Context = {
    ...options,
    store,
    fs,
    files: new Semaphore(FILES_IN_FLIGHT_MAX),
    bytes: new Semaphore(CHUNK_BYTES_IN_FLIGHT_MAX),
    hardlinks: new Map(),
  };
  return backupVirtualDir(context, buildVirtualRoot(options.sources), Buffer.from("/"), options.parentRoot);
}

async function parentEntries(context: Context, parts: readonly BlobId[] | null): Promise<Map<string, Node>> {
  const map = new Map<string, Node>();
  if (parts === null) return map;
  for await (const node of readTree(context.store, parts)) map.set(Buffer.from(node.name).toString("latin1"), node);
  return map;
}

async function backupVirtualDir(context: Context, dir: VirtualDir, path: Buffer, parentParts: readonly BlobId[] | null): Promise<BlobId[]> {
  const previous = await parentEntries(context, parentParts);
  const nodes: Promise<Node | null>[] = [];
  const names = [...dir.children.keys()].sort((a, b) => compareNames(Buffer.from(a, "latin1"), Buffer.from(b, "latin1")));
  for (const name of names) {
    const child = dir.children.get(name)!;
    const childPath = joinPath(path, Buffer.from(name, "latin1"));
    const before = previous.get(name) ?? null;
    if (child === "source") {
      nodes.push(backupEntry(context, childPath, Buffer.from(name, "latin1"), before, null, 1));
      continue;
    }
    nodes.push(
      (async () => {
        const stat = await lstatOrReport(context, childPath);
        if (stat === null) return null;
        const subtree = await backupVirtualDir(context, child, childPath, before?.type === "dir" ? (before.subtree ?? []) : null);
        return nodeFromStat(context, Buffer.from(name, "latin1"), stat, { subtree });
      })(),
    );
  }
  return storeTree(context, await settleNodes(nodes));
}

async function lstatOrReport(context: Context, path: Buffer): Promise<SourceStat | null> {
  try {
    return await context.fs.lstat(path);
  } catch (error) {
    report(context, path, error);
    return null;
  }
}

function report(context: Context, path: Buffer, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  if (context.onError(path, err) === "abort") {
    throw new SuedeError("SOURCE_UNREADABLE", `cannot read ${displayPath(path)}: ${err.message}`, { cause: err });
  }
  context.progress.skipped++;
}

function nodeFromStat(context: Context, name: Uint8Array, stat: SourceStat, extra: Partial<Node>): Node {
  return {
    name: Uint8Array.from(name),
    type: stat.type,
    mode: stat.mode,
    uid: stat.uid,
    gid: stat.gid,
    user: context.fs.userName(stat.uid),
    group: context.fs.groupName(stat.gid),
    mtimeNs: stat.mtimeNs,
    ctimeNs: stat.ctimeNs,
    inode: stat.inode,
    device: stat.device,
    nlink: stat.nlink,
    sizeBytes: stat.type === "file" || stat.type === "symlink" ? stat.sizeBytes : 0,
    ...extra,
  };
}

async function settleNodes(pending: Promise<Node | null>[]): Promise<Node[]> {
  const results = await Promise.allSettled(pending);
  const failure = results.find((r) => r.status === "rejected");
  if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<Node | null>).value).filter((n): n is Node => n !== null);
}

function checkCancelled(context: Context): void {
  if (context.signal?.aborted === true) throw new SuedeError("CANCELLED", "backup cancelled; the vault is unchanged");
}

/** Backs up one entry (any type); resolves to its node, or null when skipped or excluded. */
async function backupEntry(
  context: Context,
  path: Buffer,
  name: Uint8Array,
  before: Node | null,
  rootDevice: bigint | null,
  depth: number,
): Promise<Node | null> {
  checkCancelled(context);
  const stat = await lstatOrReport(context, path);
  if (stat === null || context.isExcluded(path, stat.type === "dir")) return null;
  return backupStatted(context, path, name, stat, before, rootDevice ?? stat.device, depth);
}

function backupStatted(
  context: Context,
  path: Buffer,
  name: Uint8Array,
  stat: SourceStat,
  before: Node | null,
  rootDevice: bigint,
  depth: number,
): Promise<Node | null> {
  switch (stat.type) {
    case "dir":
      return backupDirectory(context, path, name, stat, before, rootDevice, depth);
    case "file":
      return backupFile(context, path, name, stat, before);
    case "symlink":
      return context.fs.readlink(path).then(
        (target) => nodeFromStat(context, name, stat, { linkTarget: Uint8Array.from(target) }),
        (error: unknown) => {
          report(context, path, error);
          return null;
        },
      );
    case "chardev":
    case "blockdev":
      return Promise.resolve(nodeFromStat(context, name, stat, { rdev: stat.rdev }));
    case "fifo":
    case "socket":
      return Promise.resolve(nodeFromStat(context, name, stat, {}));
  }
}

/** lstat of many names with a bounded number of calls in flight. */
async function lstatAll(context: Context, paths: readonly Buffer[]): Promise<(SourceStat | null)[]> {
  const stats: (SourceStat | null)[] = new Array(paths.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      stats[i] = await lstatOrReport(context, paths[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LSTAT_IN_FLIGHT_MAX, paths.length) }, worker));
  return stats;
}

const LSTAT_IN_FLIGHT_MAX = 32;

async function backupDirectory(
  context: Context,
  path: Buffer,
  name: Uint8Array,
  stat: SourceStat,
  before: Node | null,
  rootDevice: bigint,
  depth: number,
): Promise<Node | null> {
  checkCancelled(context);
  context.progress.dirs++;
  if (depth > TREE_DEPTH_MAX) {
    report(context, path, new Error(`directory nesting deeper than ${TREE_DEPTH_MAX}`));
    return nodeFromStat(context, name, stat, { subtree: [], unreadable: "too deep" });
  }
  if (context.oneFileSystem && stat.device !== rootDevice) {
    return nodeFromStat(context, name, stat, { subtree: await storeTree(context, []) });
  }
  let names: Buffer[];
  try {
    names = await context.fs.readdir(path);
  } catch (error) {
    report(context, path, error);
    return nodeFromStat(context, name, stat, { subtree: await storeTree(context, []), unreadable: reason(error) });
  }
  names.sort(compareNames);
  const previous = await parentEntries(context, before?.type === "dir" ? (before.subtree ?? []) : null);
  const paths = names.map((childName) => joinPath(path, childName));
  const stats = await lstatAll(context, paths);
  // Files, links and specials start now (their reads are bounded by semaphores); subdirectories go
  // one at a time, depth first, so only the directories on the current path are held in memory.
  const children: Promise<Node | null>[] = [];
  const subdirectories: number[] = [];
  for (let i = 0; i < names.length; i++) {
    const stat = stats[i];
    if (stat === null || stat === undefined || context.isExcluded(paths[i]!, stat.type === "dir")) continue;
    if (stat.type === "dir") {
      subdirectories.push(children.length);
      children.push(Promise.resolve(null));
      continue;
    }
    const childBefore = previous.get(names[i]!.toString("latin1")) ?? null;
    const pending = backupStatted(context, paths[i]!, names[i]!, stat, childBefore, rootDevice, depth + 1);
    pending.catch(() => undefined);
    children.push(pending);
  }
  let slot = 0;
  for (let i = 0; i < names.length; i++) {
    const stat = stats[i];
    if (stat === null || stat === undefined || stat.type !== "dir" || context.isExcluded(paths[i]!, true)) continue;
    const childBefore = previous.get(names[i]!.toString("latin1")) ?? null;
    children[subdirectories[slot++]!] = Promise.resolve(await backupDirectory(context, paths[i]!, names[i]!, stat, childBefore, rootDevice, depth + 1));
  }
  const subtree = await storeTree(context, await settleNodes(children));
  return nodeFromStat(context, name, stat, { subtree });
}

function reason(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

function isUnchanged(stat: SourceStat, before: Node | null): before is Node & { chunks: readonly ChunkRef[] } {
  return (
    before !== null &&
    before.type === "file" &&
    before.unreadable === undefined &&
    before.chunks !== undefined &&
    before.sizeBytes === stat.sizeBytes &&
    before.mtimeNs === stat.mtimeNs &&
    before.ctimeNs === stat.ctimeNs &&
    before.inode === stat.inode
  );
}

async function backupFile(context: Context, path: Buffer, name: Uint8Array, stat: SourceStat, before: Node | null): Promise<Node | null> {
  const { progress } = context;
  progress.files++;
  progress.sizeBytes += stat.sizeBytes;
  const sparse = stat.blocks * 512 < stat.sizeBytes;
  if (isUnchanged(stat, before)) {
    progress.filesUnchanged++;
    return nodeFromStat(context, name, stat, { chunks: before.chunks, ...(sparse ? { sparse } : {}) });
  }
  if (before === null) progress.filesNew++;
  else progress.filesChanged++;
  const linkKey = stat.nlink > 1 ? `${stat.device}:${stat.inode}` : null;
  const linked = linkKey === null ? undefined : context.hardlinks.get(linkKey);
  if (linked !== undefined) {
    const content = await linked;
    return nodeFromStat(context, name, stat, { ...content, ...(sparse ? { sparse } : {}) });
  }
  const reading = readFileChunks(context, path, stat);
  if (linkKey !== null) context.hardlinks.set(linkKey, reading.then((r) => ({ chunks: r?.chunks ?? [], sizeBytes: r?.sizeBytes ?? 0 })));
  const read = await reading;
  if (read === null) return nodeFromStat(context, name, stat, { chunks: [], unreadable: "unreadable" });
  return nodeFromStat(context, name, { ...stat, sizeBytes: read.sizeBytes }, { chunks: read.chunks, ...(sparse ? { sparse } : {}) });
}

async function readFileChunks(context: Context, path: Buffer, stat: SourceStat): Promise<{ chunks: ChunkRef[]; sizeBytes: number } | null> {
  const release = await context.files.acquire(1);
  try {
    checkCancelled(context);
    context.progress.currentPath = displayPath(path);
    const chunks: ChunkRef[] = [];
    const onChunks = async (messages: ChunkMessage[]): Promise<void> => {
      for (const message of messages) {
        context.progress.bytesRead += message.sizeBytes;
        if (message.id === null || message.data === null) {
          chunks.push({ id: HOLE_ID, sizeBytes: message.sizeBytes });
          continue;
        }
        chunks.push({ id: message.id, sizeBytes: message.sizeBytes });
        await storeChunk(context, message.id, message.data);
      }
    };
    const result = await context.chunkPool.chunkFile(path, onChunks);
    if (result.sizeBytes !== stat.sizeBytes || result.mtimeNs !== stat.mtimeNs || result.ctimeNs !== stat.ctimeNs) {
      context.onWarning(path, "file changed while it was read; the snapshot holds the bytes as read");
    }
    return { chunks, sizeBytes: result.sizeBytes };
  } catch (error) {
    if (!(error instanceof FileReadError)) throw error;
    if (error.code === "ENOENT") {
      context.onWarning(path, "vanished before it could be read");
      return null;
    }
    report(context, path, error);
    return null;
  } finally {
    release();
  }
}

async function storeChunk(context: Context, id: BlobId, data: Uint8Array): Promise<void> {
  if (context.store.hasBlob(id)) return;
  const release = await context.bytes.acquire(data.byteLength);
  const stored = context.store.putBlob("data", id, data);
  stored.then(
    (added) => {
      context.progress.bytesStored += added;
      release();
    },
    () => release(),
  );
  // Errors surface at commit through the vault; the chunk is awaited there too.
  stored.catch(() => undefined);
}

async function storeTree(context: Context, nodes: readonly Node[]): Promise<BlobId[]> {
  const parts: BlobId[] = [];
  let part: Node[] = [];
  const flush = async () => {
    const bytes = encodeTreePart(part);
    const id = context.store.blobId(bytes);
    context.progress.bytesStored += await context.store.putBlob("tree", id, bytes);
    parts.push(id);
    part = [];
  };
  for (const node of nodes) {
    part.push(node);
    if (isPartBoundary(node.name, part.length)) await flush();
  }
  if (part.length > 0 || parts.length === 0) await flush();
  return parts;
}
