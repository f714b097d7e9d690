/**
 * The backup pipeline: walk → stat → (unchanged or moved? reuse) → file workers read, chunk and
 * hash → the main thread says which chunks are new → the workers compress and encrypt those →
 * append. Directories become tree parts bottom-up. Files whose size, mtime, ctime and inode match
 * the parent snapshot are not read again. Per-path failures go through onError (skip or abort);
 * the pipeline holds no UI logic.
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
import { FileReadError, type FilePool } from "./file-pool.ts";
import { InodeTable } from "./inode-table.ts";
import { Semaphore } from "../util/semaphore.ts";

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
  readonly isExcluded: (path: Buffer, stat: SourceStat) => boolean;
  readonly oneFileSystem: boolean;
  /** A path could not be read: skip it (the snapshot records it as unreadable) or abort. */
  readonly onError: (path: Buffer, error: Error) => ErrorDecision;
  /** Something worth telling that is not a failure (a file changed while it was read). */
  readonly onWarning: (path: Buffer, message: string) => void;
  readonly signal?: AbortSignal;
  readonly filePool: FilePool;
  readonly progress: BackupProgress;
}

interface Context extends BackupOptions {
  readonly store: BlobStore;
  readonly fs: SourceFs;
  readonly files: Semaphore;
  readonly bytes: Semaphore;
  /** Hard links seen in this run: (device, inode) → the chunks stored for the first name. */
  readonly hardlinks: Map<string, Promise<Pick<Node, "chunks" | "sizeBytes" | "unreadable">>>;
  /** Parent-snapshot files by inode, built when the first new directory appears (moves, renames). */
  inodeTable: Promise<InodeTable> | null;
  /** Directory listings started ahead of the walk, by path. */
  readonly listings: Map<string, Promise<Listing | { error: unknown }>>;
  prefetchesInFlight: number;
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
    listings: new Map(),
    prefetchesInFlight: 0,
    inodeTable: null,
  };
  return (await walkVirtualDir(context, buildVirtualRoot(options.sources), Buffer.from("/"), options.parentRoot)).done;
}

/*
 * The walk and the work are decoupled: each walk function returns once everything below it has been
 * started, handing back a promise of the finished node. So the walk keeps going while files are read,
 * and it only waits when FILES_IN_FLIGHT_MAX files are being read (the files semaphore).
 */
interface Later<T> {
  readonly done: Promise<T>;
}

/** Wraps a promise so an async function can return it without awaiting it (promises flatten). */
function later<T>(value: T | Promise<T>): Later<T> {
  const done = Promise.resolve(value);
  done.catch(() => undefined); // handled by whoever awaits .done; no unhandled-rejection noise meanwhile
  return { done };
}

async function parentEntries(context: Context, parts: readonly BlobId[] | null): Promise<Map<string, Node>> {
  const map = new Map<string, Node>();
  if (parts === null) return map;
  for await (const node of readTree(context.store, parts)) map.set(Buffer.from(node.name).toString("latin1"), node);
  return map;
}

function previousDir(before: Node | null | undefined): readonly BlobId[] | null {
  return before?.type === "dir" ? (before.subtree ?? []) : null;
}

async function walkVirtualDir(context: Context, dir: VirtualDir, path: Buffer, parentParts: readonly BlobId[] | null): Promise<Later<BlobId[]>> {
  const previous = await parentEntries(context, parentParts);
  const children: Promise<Node | null>[] = [];
  const names = [...dir.children.keys()].map((n) => Buffer.from(n, "latin1")).sort(compareNames);
  for (const name of names) {
    const child = dir.children.get(name.toString("latin1"))!;
    const childPath = joinPath(path, name);
    const before = previous.get(name.toString("latin1")) ?? null;
    // A directory above a source is recorded as what it leads to: a source under a symlinked
    // directory is restored under that name as a real directory.
    const stat = await lstatOrReport(context, childPath, child !== "source");
    if (stat === null) continue;
    if (child === "source") {
      if (!context.isExcluded(childPath, stat)) children.push((await walkEntry(context, childPath, name, stat, before, stat.device, 1)).done);
      continue;
    }
    const subtree = await walkVirtualDir(context, child, childPath, previousDir(before));
    children.push(later(subtree.done.then((parts) => nodeFromStat(context, name, stat, { subtree: parts }))).done);
  }
  return later(settleNodes(children).then((nodes) => storeTree(context, nodes)));
}

/** lstat (or stat, following symlinks) of path; a failure is reported and gives null. */
async function lstatOrReport(context: Context, path: Buffer, follow = false): Promise<SourceStat | null> {
  try {
    return await (follow ? context.fs.stat(path) : context.fs.lstat(path));
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

/** Starts the backup of one entry of any type; resolves once it (and all below it) is started. */
async function walkEntry(
  context: Context,
  path: Buffer,
  name: Uint8Array,
  stat: SourceStat,
  before: Node | null,
  rootDevice: bigint,
  depth: number,
): Promise<Later<Node | null>> {
  switch (stat.type) {
    case "dir":
      return walkDirectory(context, path, name, stat, before, rootDevice, depth);
    case "file":
      return walkFile(context, path, name, stat, before);
    case "symlink":
      return later(
        context.fs.readlink(path).then(
          (target) => nodeFromStat(context, name, stat, { linkTarget: Uint8Array.from(target) }),
          (error: unknown) => {
            report(context, path, error);
            return null;
          },
        ),
      );
    case "chardev":
    case "blockdev":
      return later(nodeFromStat(context, name, stat, { rdev: stat.rdev }));
    case "fifo":
    case "socket":
      return later(nodeFromStat(context, name, stat, {}));
  }
}

const PREFETCH_DIRECTORIES_MAX = 16;


async function walkDirectory(
  context: Context,
  path: Buffer,
  name: Uint8Array,
  stat: SourceStat,
  before: Node | null,
  rootDevice: bigint,
  depth: number,
): Promise<Later<Node | null>> {
  checkCancelled(context);
  context.progress.dirs++;
  const finish = (children: Promise<Node | null>[], unreadable?: string): Later<Node> =>
    later(
      settleNodes(children)
        .then((nodes) => storeTree(context, nodes))
        .then((subtree) => nodeFromStat(context, name, stat, { subtree, ...(unreadable !== undefined ? { unreadable } : {}) })),
    );
  if (depth > TREE_DEPTH_MAX) {
    report(context, path, new Error(`directory nesting deeper than ${TREE_DEPTH_MAX}`));
    return finish([], "too deep");
  }
  if (context.oneFileSystem && stat.device !== rootDevice) return finish([]);
  const key = path.toString("latin1");
  const prefetched = context.listings.get(key);
  context.listings.delete(key);
  const listing = await (prefetched ?? listDirectory(context, path));
  if (prefetched !== undefined) context.prefetchesInFlight--;
  if ("error" in listing) {
    report(context, path, listing.error);
    return finish([], reason(listing.error));
  }
  const { names, paths, stats } = listing;
  prefetchSubdirectories(context, paths, stats);
  const previous = await parentEntries(context, previousDir(before));
  const children: Promise<Node | null>[] = [];
  for (let i = 0; i < names.length; i++) {
    const childStat = stats[i];
    if (childStat === null || childStat === undefined || context.isExcluded(paths[i]!, childStat)) continue;
    const childBefore = previous.get(names[i]!.toString("latin1")) ?? null;
    const moved = childBefore === null && before === null && childStat.type === "file" ? await movedFile(context, childStat) : null;
    children.push((await walkEntry(context, paths[i]!, names[i]!, childStat, childBefore ?? moved, rootDevice, depth + 1)).done);
  }
  return finish(children);
}

interface Listing {
  readonly names: Buffer[];
  readonly paths: Buffer[];
  readonly stats: (SourceStat | null)[];
}

/** readdir + lstat of every entry, names in byte order. */
async function listDirectory(context: Context, path: Buffer): Promise<Listing | { error: unknown }> {
  const listing = await context.filePool.listDirectory(path);
  if (listing.error !== undefined) return { error: errnoError(listing.error) };
  const names = listing.names.map((name) => Buffer.from(name.buffer, name.byteOffset, name.byteLength));
  const paths = names.map((childName) => joinPath(path, childName));
  const stats = listing.stats.map((stat, i) => {
    if ("type" in stat) return stat;
    report(context, paths[i]!, errnoError(stat));
    return null;
  });
  return { names, paths, stats };
}

function errnoError(info: { readonly code: string; readonly message: string }): NodeJS.ErrnoException {
  return Object.assign(new Error(info.message), { code: info.code });
}

/**
 * Lists subdirectories ahead of the walk (at most PREFETCH_DIRECTORIES_MAX at a time), so the
 * walk does not wait for one readdir and lstat round trip per directory.
 */
function prefetchSubdirectories(context: Context, paths: readonly Buffer[], stats: readonly (SourceStat | null)[]): void {
  for (let i = 0; i < paths.length && context.prefetchesInFlight < PREFETCH_DIRECTORIES_MAX; i++) {
    if (stats[i]?.type !== "dir" || context.isExcluded(paths[i]!, stats[i]!)) continue;
    const key = paths[i]!.toString("latin1");
    if (context.listings.has(key)) continue;
    context.prefetchesInFlight++;
    context.listings.set(key, listDirectory(context, paths[i]!));
  }
}

/** A file in a directory the parent snapshot does not have: the same inode, unchanged, in the parent? */
async function movedFile(context: Context, stat: SourceStat): Promise<Node | null> {
  if (context.parentRoot === null) return null;
  context.inodeTable ??= InodeTable.build(context.store, context.parentRoot, context.signal);
  return (await context.inodeTable).find(stat);
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

async function walkFile(context: Context, path: Buffer, name: Uint8Array, stat: SourceStat, before: Node | null): Promise<Later<Node | null>> {
  const { progress } = context;
  progress.files++;
  progress.sizeBytes += stat.sizeBytes;
  const sparse = stat.blocks * 512 < stat.sizeBytes ? { sparse: true } : {};
  if (isUnchanged(stat, before)) {
    progress.filesUnchanged++;
    return later(nodeFromStat(context, name, stat, { chunks: before.chunks, ...sparse }));
  }
  if (before === null) progress.filesNew++;
  else progress.filesChanged++;
  const linkKey = stat.nlink > 1 ? `${stat.device}:${stat.inode}` : null;
  const linked = linkKey === null ? undefined : context.hardlinks.get(linkKey);
  if (linked !== undefined) return later(linked.then((content) => nodeFromStat(context, name, stat, { ...content, ...sparse })));
  checkCancelled(context);
  const release = await context.files.acquire(1);
  const reading = later(readFileChunks(context, path, stat).finally(release)).done;
  if (linkKey !== null) {
    const content = reading.then((r) => (r === null || r === VANISHED ? { chunks: [], sizeBytes: 0, unreadable: "unreadable" } : { chunks: r.chunks, sizeBytes: r.sizeBytes }));
    context.hardlinks.set(linkKey, later(content).done);
  }
  return later(
    reading.then((read) =>
      // A file deleted between the listing and the read is left out (warned), not kept as unreadable.
      read === VANISHED
        ? null
        : read === null
        ? nodeFromStat(context, name, stat, { chunks: [], unreadable: "unreadable" })
        : nodeFromStat(context, name, { ...stat, sizeBytes: read.sizeBytes }, { chunks: read.chunks, ...sparse }),
    ),
  );
}

const VANISHED = "vanished";

/** The file's chunks; null when it could not be read (reported), VANISHED when it no longer exists (warned). */
async function readFileChunks(context: Context, path: Buffer, stat: SourceStat): Promise<{ chunks: ChunkRef[]; sizeBytes: number } | null | typeof VANISHED> {
  checkCancelled(context);
  context.progress.currentPath = displayPath(path);
  const chunks: ChunkRef[] = [];
  /** One release per block whose new chunks are being sealed (blocks of a file arrive in order). */
  const releases: (() => void)[] = [];
  try {
    const result = await context.filePool.backupFile(path, {
      onChunks: async (infos) => {
        checkCancelled(context);
        let neededBytes = 0;
        const need = infos.map((info) => {
          context.progress.bytesRead += info.sizeBytes;
          chunks.push({ id: info.id ?? HOLE_ID, sizeBytes: info.sizeBytes });
          const needed = info.id !== null && context.store.claimBlob(info.id);
          if (needed) neededBytes += info.sizeBytes;
          return needed;
        });
        // Bound the data being sealed and written: the worker waits for this answer.
        if (neededBytes > 0) releases.push(await context.bytes.acquire(neededBytes));
        return need;
      },
      onSealed: async (sealed) => {
        for (const chunk of sealed) {
          context.progress.bytesStored += await context.store.putSealedBlob(chunk.id, chunk.record, chunk.rawLength);
        }
        if (sealed.length > 0) releases.shift()?.();
      },
    });
    if (result.sizeBytes !== stat.sizeBytes || result.mtimeNs !== stat.mtimeNs || result.ctimeNs !== stat.ctimeNs) {
      context.onWarning(path, "file changed while it was read; the snapshot holds the bytes as read");
    }
    return { chunks, sizeBytes: result.sizeBytes };
  } catch (error) {
    for (const release of releases) release();
    if (!(error instanceof FileReadError)) throw error;
    if (error.code === "ENOENT") {
      context.onWarning(path, "vanished before it could be read; left out of the snapshot");
      return VANISHED;
    }
    report(context, path, error);
    return null;
  }
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
