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
import { SuedeError, VaultCorruptError } from "../errors/errors.ts";
import { displayPath } from "../fs/display-path.ts";
import { joinPath } from "../fs/join.ts";
import { decodeTree, readTree } from "../snapshot/tree-reader.ts";
import { compareNames, decodeTreeEntry, type EncodedEntry, encodeTreePartFrom, isPartBoundary } from "../snapshot/tree-codec.ts";
import { assert } from "../util/assert.ts";
import { CHUNK_BYTES_IN_FLIGHT_MAX, FILES_IN_FLIGHT_MAX, TREE_DEPTH_MAX } from "../util/limits.ts";
import { type ChunkedFile, type FileHooks, FileReadError, type FilePool } from "./file-pool.ts";
import type { ChunkInfo, SealedChunk } from "./file-worker.ts";
import { InodeTable, KeptParts } from "./inode-table.ts";
import { markPhase } from "../util/phase.ts";
import type { Prelister } from "./prelist.ts";
import type { WholeFile } from "./whole-codec.ts";
import { isSparse, isUnchangedFile, isUnchangedSymlink, MATCH_FIELDS, nodeFromStat as statNode, type ParentMatch, sameIds, sameNode } from "./unchanged.ts";
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
  return new Progress();
}

/** emptyProgress's counters: the file being read kept as bytes, decoded only when currentPath is read. */
class Progress implements BackupProgress {
  files = 0;
  dirs = 0;
  sizeBytes = 0;
  filesNew = 0;
  filesChanged = 0;
  filesUnchanged = 0;
  bytesRead = 0;
  bytesStored = 0;
  skipped = 0;
  pathBytes: Uint8Array | null = null;
  private pathText = "";

  get currentPath(): string {
    return this.pathBytes === null ? this.pathText : displayPath(this.pathBytes);
  }

  set currentPath(text: string) {
    this.pathBytes = null;
    this.pathText = text;
  }
}

/** The progress line is drawn a few times a second: decoding every file's path for it was per-file work (issue 5). */
function setCurrentPath(progress: BackupProgress, path: Uint8Array): void {
  if (progress instanceof Progress) progress.pathBytes = path;
  else progress.currentPath = displayPath(path);
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
  /** Directories listed while the vault unlocked (prelist.ts), taken instead of listing them again. */
  readonly prelisted?: Prelister;
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
  /** The table once built: the walk takes the tree parts it read (InodeTable.takePart) instead of reading them again. */
  builtInodeTable: InodeTable | null;
  /**
   * Parent tree parts the walk read while no inode table is asked for: a table's build takes them instead of
   * reading them again (moved step, usr: 775 of its 2,398 reads). null when there is no parent or once the
   * table is asked for.
   */
  partsReadBefore: KeptParts | null;
  /** Directory loads (listing and parent entries) started ahead of the walk, by path. */
  readonly loads: Map<string, AheadLoad>;
  /** Subdirectories waiting to be loaded ahead, newest listing on top (the walk's depth-first order). */
  readonly pending: PendingGroup[];
  /** Pending subdirectories by path, so the walk can take one it reaches before it was started. */
  readonly pendingByKey: Map<string, PendingDirectory>;
  /** Loads ahead still running, and the entries of those finished and waiting for the walk. */
  loadsInFlight: number;
  entriesAhead: number;
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
    loads: new Map(),
    pending: [],
    pendingByKey: new Map(),
    loadsInFlight: 0,
    entriesAhead: 0,
    inodeTable: null,
    builtInodeTable: null,
    partsReadBefore: options.parentRoot === null ? null : new KeptParts(),
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
  for await (const node of readTree(context.store, parts)) map.set(nameKey(node.name), node);
  return map;
}

/** A name as a Map key (latin1 keeps every byte); read in place, not copied. */
function nameKey(name: Uint8Array): string {
  return Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString("latin1");
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
  return statNode(context.fs, name, stat, extra);
}

async function settleNodes<T>(pending: Promise<T | null>[]): Promise<T[]> {
  const results = await Promise.allSettled(pending);
  const failure = results.find((r) => r.status === "rejected");
  if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<T | null>).value).filter((n): n is T => n !== null);
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
      // A symlink's target cannot change in place: the same inode and ctime mean the same target.
      if (isUnchangedSymlink(stat, before)) {
        return later(nodeFromStat(context, name, stat, { linkTarget: before.linkTarget }));
      }
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
  const finish = (children: Promise<Node | EncodedEntry | null>[], unreadable?: string): Later<Node> =>
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
  const parentParts = previousDir(before);
  const load = await takeDirectory(context, path, parentParts, rootDevice);
  if ("error" in load.listing) {
    report(context, path, load.listing.error);
    return finish([], reason(load.listing.error));
  }
  const listing = load.listing;
  const { names, paths, stats, partsByEntry } = listing;
  if (listing.match?.unchanged === true && parentParts !== null && parentParts.length > 0 && stats.every((s, i) => s !== null && !context.isExcluded(paths[i]!, s))) {
    return walkUnchangedDirectory(context, name, stat, parentParts, listing, load.parentPlaintexts!, rootDevice, depth);
  }
  // The parent's entries: where the worker joined the listing with them, an entry found the same is
  // copied as encoded and the others are decoded one by one; otherwise all are decoded.
  const previous = listing.match === null ? await load.previous() : null;
  const decoded = new Map<number, Node | null>();
  const beforeOf = (i: number): Node | null => {
    if (previous !== null) return previous.get(names[i]!.toString("latin1")) ?? null;
    let node = decoded.get(i);
    if (node === undefined) decoded.set(i, (node = decodeParentEntry(listing, load.parentPlaintexts!, parentParts!, i)));
    return node;
  };
  queueSubdirectories(context, listing, (i) => partsByEntry?.[i] ?? previousDir(beforeOf(i)), rootDevice);
  const children: Promise<Node | EncodedEntry | null>[] = [];
  for (let i = 0; i < names.length; i++) {
    const childStat = stats[i];
    if (childStat === null || childStat === undefined || context.isExcluded(paths[i]!, childStat)) continue;
    if (childStat.type !== "dir" && isSameAsParent(listing, i)) {
      if (childStat.type === "file") countUnchangedFile(context, childStat);
      children.push(Promise.resolve(parentEncoded(listing, load.parentPlaintexts!, i)));
      continue;
    }
    const sameSubtree = partsByEntry?.[i];
    const childBefore = sameSubtree !== undefined ? nodeFromStat(context, names[i]!, childStat, { subtree: sameSubtree }) : beforeOf(i);
    if (sameSubtree !== undefined) {
      const walked = (await walkEntry(context, paths[i]!, names[i]!, childStat, childBefore, rootDevice, depth + 1)).done;
      children.push(later(walked.then((node) => sameDirectoryEntry(listing, load.parentPlaintexts!, i, node))).done);
      continue;
    }
    // A new name: a file in a new directory, or any directory, may have moved here.
    const moved =
      childBefore !== null || context.parentRoot === null
        ? null
        : childStat.type === "dir"
          ? await movedDirectory(context, childStat)
          : before === null && childStat.type === "file"
            ? await movedFile(context, childStat)
            : null;
    children.push((await walkEntry(context, paths[i]!, names[i]!, childStat, childBefore ?? moved, rootDevice, depth + 1)).done);
  }
  // Every entry exactly as in the parent snapshot: its tree parts would encode to the same bytes, so
  // they are reused as they are (no encoding, hashing or index look-up).
  return later(
    settleNodes(children).then(async (nodes) => {
      // (Joined with the worker, entries found the same are copied: storeTree then makes the parent's bytes.)
      const subtree = previous !== null && parentParts !== null && parentParts.length > 0 && sameEntries(nodes as Node[], previous) ? parentParts : await storeTree(context, nodes);
      return nodeFromStat(context, name, stat, { subtree });
    }),
  );
}

/**
 * A directory whose entries all equal the parent's (the worker compared them): files and symlinks
 * are not looked at here at all; subdirectories are walked, and if each comes out with the
 * parent's subtree, the parent's tree parts are reused. Otherwise the entries are rebuilt from the
 * parent's nodes (no I/O) and stored as a new tree.
 */
async function walkUnchangedDirectory(
  context: Context,
  name: Uint8Array,
  stat: SourceStat,
  parentParts: readonly BlobId[],
  listing: WalkListing,
  parentPlaintexts: readonly Uint8Array[],
  rootDevice: bigint,
  depth: number,
): Promise<Later<Node>> {
  const { names, paths, stats } = listing;
  const partsByEntry = listing.partsByEntry!;
  queueSubdirectories(context, listing, (i) => partsByEntry[i] ?? null, rootDevice);
  const dirEntries: number[] = [];
  const dirs: Promise<Node | null>[] = [];
  for (let i = 0; i < names.length; i++) {
    const childStat = stats[i]!;
    if (childStat.type === "dir") {
      const before = nodeFromStat(context, names[i]!, childStat, { subtree: partsByEntry[i]! });
      dirs.push((await walkEntry(context, paths[i]!, names[i]!, childStat, before, rootDevice, depth + 1)).done);
      dirEntries.push(i);
    } else if (childStat.type === "file") {
      countUnchangedFile(context, childStat);
    }
  }
  return later(
    Promise.allSettled(dirs).then(async (results) => {
      const failure = results.find((r) => r.status === "rejected");
      if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
      const dirNodes = results.map((r) => (r as PromiseFulfilledResult<Node | null>).value);
      if (dirNodes.every((node, j) => node !== null && node.unreadable === undefined && sameIds(node.subtree, partsByEntry[dirEntries[j]!]))) {
        return nodeFromStat(context, name, stat, { subtree: parentParts });
      }
      // A subdirectory changed: this directory's other entries are the parent's, copied as encoded.
      const nodes: (Node | EncodedEntry)[] = [];
      let dir = 0;
      for (let i = 0; i < names.length; i++) {
        if (stats[i]!.type === "dir") {
          const node = sameDirectoryEntry(listing, parentPlaintexts, i, dirNodes[dir++] ?? null);
          if (node !== null) nodes.push(node);
          continue;
        }
        nodes.push(parentEncoded(listing, parentPlaintexts, i));
      }
      return nodeFromStat(context, name, stat, { subtree: await storeTree(context, nodes) });
    }),
  );
}

interface WalkListing {
  readonly names: Buffer[];
  readonly paths: Buffer[];
  readonly stats: (SourceStat | null)[];
  /** The directories the worker found equal to the parent's (apart from their subtree): their subtree in the parent, by entry index. */
  readonly partsByEntry: (readonly BlobId[] | undefined)[] | null;
  /** The listing joined with the parent's entries (matchParent); null without parent parts, or when they did not scan. */
  readonly match: ParentMatch | null;
}

/** The worker found listing entry i equal, field for field, to the parent's entry of that name. */
function isSameAsParent(listing: WalkListing, i: number): boolean {
  return listing.match !== null && listing.match.entries[i * MATCH_FIELDS + 3] === 1;
}

/** Listing entry i as the parent snapshot encoded it (the worker located it in the parent's parts). */
function parentEncoded(listing: WalkListing, plaintexts: readonly Uint8Array[], i: number): EncodedEntry {
  const at = i * MATCH_FIELDS;
  const entries = listing.match!.entries;
  assert(entries[at]! >= 0 && entries[at + 3] === 1, "an entry found unchanged needs reading");
  return { name: listing.names[i]!, encoded: plaintexts[entries[at]!]!.subarray(entries[at + 1], entries[at + 2]) };
}

/** The parent's entry of the name of listing entry i, decoded; null when the parent has none. */
function decodeParentEntry(listing: WalkListing, plaintexts: readonly Uint8Array[], parentParts: readonly BlobId[], i: number): Node | null {
  const at = i * MATCH_FIELDS;
  const entries = listing.match!.entries;
  const part = entries[at]!;
  if (part < 0) return null;
  try {
    return decodeTreeEntry(plaintexts[part]!.subarray(entries[at + 1], entries[at + 2]));
  } catch (cause) {
    throw new VaultCorruptError(0, `tree ${Buffer.from(parentParts[part]!).toString("hex").slice(0, 16)}… does not decode`, { cause });
  }
}

/**
 * A directory the worker found the same (listing entry i), as walked: when it came out with the
 * parent's subtree it is the parent's entry to the byte, so that is copied instead of encoded.
 */
function sameDirectoryEntry(listing: WalkListing, plaintexts: readonly Uint8Array[], i: number, node: Node | null): Node | EncodedEntry | null {
  if (node === null || node.unreadable !== undefined || !sameIds(node.subtree, listing.partsByEntry![i])) return node;
  return parentEncoded(listing, plaintexts, i);
}

function countUnchangedFile(context: Context, stat: SourceStat): void {
  context.progress.files++;
  context.progress.sizeBytes += stat.sizeBytes;
  context.progress.filesUnchanged++;
}

/** readdir + lstat of every entry, names in byte order. */
async function listDirectory(context: Context, path: Buffer, parent: Uint8Array[] | null): Promise<WalkListing | { error: unknown }> {
  const listing = await context.filePool.listDirectory(path, parent, context.prelisted?.take(path) ?? null);
  if ("error" in listing) return { error: errnoError(listing.error) };
  const names = listing.names;
  const paths = names.map((childName) => joinPath(path, childName));
  const stats = listing.stats.map((stat, i) => {
    if ("type" in stat) return stat;
    report(context, paths[i]!, errnoError(stat));
    return null;
  });
  const match = listing.match;
  return { names, paths, stats, match, partsByEntry: match === null ? null : byEntry(stats, match, match.subtrees) };
}

/** The worker's subtrees (one per directory entry found the same, in order) by entry index. */
function byEntry(stats: readonly (SourceStat | null)[], match: ParentMatch, subtrees: readonly BlobId[][]): (readonly BlobId[] | undefined)[] {
  const partsByEntry = new Array<readonly BlobId[] | undefined>(stats.length);
  let next = 0;
  for (let i = 0; i < stats.length; i++) if (stats[i]?.type === "dir" && match.entries[i * MATCH_FIELDS + 3] === 1) partsByEntry[i] = subtrees[next++];
  assert(next === subtrees.length, "worker sent subtrees for a different listing");
  return partsByEntry;
}

function errnoError(info: { readonly code: string; readonly message: string }): NodeJS.ErrnoException {
  return Object.assign(new Error(info.message), { code: info.code });
}

/** A directory's listing, and its entries in the parent snapshot (decoded when the walk asks). */
interface DirectoryLoad {
  readonly listing: WalkListing | { error: unknown };
  readonly previous: () => Promise<Map<string, Node>>;
  /** The parent's tree parts as read (where the listing's match locates entries); null when there are none. */
  readonly parentPlaintexts: readonly Uint8Array[] | null;
}

interface PendingDirectory {
  readonly key: string;
  readonly path: Buffer;
  /** Null when queued as new by a load ahead; the walk sets it when it finds the directory moved. */
  parentParts: readonly BlobId[] | null;
  readonly rootDevice: bigint;
  taken: boolean;
  /** Queued by a load ahead of the walk, not by the walk: started within the SPECULATIVE_ bounds. */
  speculative: boolean;
}

interface PendingGroup {
  readonly items: PendingDirectory[];
  next: number;
}

interface AheadLoad {
  readonly load: Promise<DirectoryLoad>;
  readonly parentParts: readonly BlobId[] | null;
  /** Entries counted in entriesAhead (once finished, until the walk takes it). */
  entries: number;
}

/**
 * Directories loaded ahead of the walk (listing on a worker, parent tree here): at most this many
 * running, and new ones start only while finished ones hold fewer than this many entries (memory).
 * A running load's entries are not known until it finishes, so the running count bounds them: 64
 * loads of 1,000-entry directories held ~45k listed entries (~30 MiB of main heap) on a re-run;
 * a worker lists one directory at a time, so 8 queued per worker still hide the round trips.
 */
const DIRECTORY_LOADS_AHEAD_MAX = 16;
const ENTRIES_AHEAD_MAX = 16_384;
/**
 * Loads of new directories' subdirectories queued before the walk reached them start only below
 * these: without them a first backup of 1,000-file directories held ~30k listed entries ahead
 * (+40 MiB peak RSS on 100,000 small files); small deep trees, where they save a round trip per level, stay well below.
 */
const SPECULATIVE_LOADS_MAX = 4;
const SPECULATIVE_ENTRIES_AHEAD_MAX = 1024;

/**
 * Reads the parent's tree parts, then lists the directory on a worker, which also compares the
 * listing with those parts (so an unchanged directory costs this thread no decoding). An
 * unchanged directory's subdirectories are queued to load at once: waiting until the walk reached
 * the directory cost one listing round trip per level on the way down.
 */
async function loadDirectory(context: Context, path: Buffer, parentParts: readonly BlobId[] | null, rootDevice: bigint): Promise<DirectoryLoad> {
  const parent = await readParentParts(context, parentParts);
  const listing = await listDirectory(context, path, parent.plaintexts);
  if (!("error" in listing) && listing.match?.unchanged === true) {
    const partsByEntry = listing.partsByEntry;
    queueSubdirectories(context, listing, (i) => partsByEntry?.[i] ?? null, rootDevice);
  } else if (!("error" in listing) && parentParts === null) {
    // A new directory's subdirectories are new too (or moved: the walk then gives them their old
    // entries), loaded before the walk gets here only while few loads are ahead (memory).
    queueSubdirectories(context, listing, () => null, rootDevice, true);
  }
  return directoryLoad(listing, parentParts, parent);
}

interface ParentRead {
  readonly plaintexts: Uint8Array[] | null;
  readonly failure: { error: unknown } | null;
}

async function readParentParts(context: Context, parentParts: readonly BlobId[] | null): Promise<ParentRead> {
  if (parentParts === null || parentParts.length === 0) return { plaintexts: null, failure: null };
  try {
    const table = context.builtInodeTable;
    const plaintexts = await Promise.all(parentParts.map((id) => table?.takePart(id) ?? context.store.getBlob(id)));
    const kept = context.partsReadBefore;
    if (kept !== null) {
      for (let i = 0; i < parentParts.length; i++) if (!kept.keep(parentParts[i]!, plaintexts[i]!)) break;
    }
    return { plaintexts, failure: null };
  } catch (error) {
    return { plaintexts: null, failure: { error } }; // a damaged parent tree fails the walk only if it needs the entries
  }
}

function directoryLoad(listing: WalkListing | { error: unknown }, parentParts: readonly BlobId[] | null, parent: ParentRead): DirectoryLoad {
  let previous: Promise<Map<string, Node>> | null = null;
  const decode = async (): Promise<Map<string, Node>> => {
    if (parent.failure !== null) throw parent.failure.error;
    const map = new Map<string, Node>();
    if (parentParts === null || parent.plaintexts === null) return map;
    for (const node of decodeTree(parentParts, parent.plaintexts)) map.set(nameKey(node.name), node);
    return map;
  };
  return { listing, previous: () => (previous ??= decode()), parentPlaintexts: parent.plaintexts };
}

/** The directory's load: the one started ahead of the walk, or a new one. */
function takeDirectory(context: Context, path: Buffer, parentParts: readonly BlobId[] | null, rootDevice: bigint): Promise<DirectoryLoad> {
  const key = path.toString("latin1");
  const started = context.loads.get(key);
  if (started === undefined) {
    const pending = context.pendingByKey.get(key);
    if (pending !== undefined) pending.taken = true;
    context.pendingByKey.delete(key);
    return loadDirectory(context, path, parentParts, rootDevice);
  }
  context.loads.delete(key);
  context.entriesAhead -= started.entries;
  started.entries = 0;
  // The same IDs in another array (a changed directory queues its subdirectories with the parts its match found,
  // the walk then passes the decoded node's): the load is the one wanted, not read and joined again.
  if (started.parentParts === parentParts || (started.parentParts !== null && parentParts !== null && sameIds(started.parentParts, parentParts))) {
    return started.load;
  }
  // Loaded as a new directory, then found by inode as a moved one: its old entries are read now and
  // joined with the listing here, so an unchanged moved directory is copied as one, not decoded entry by entry.
  return started.load.then(async (load) => {
    const parent = await readParentParts(context, parentParts);
    if ("error" in load.listing) return directoryLoad(load.listing, parentParts, parent);
    const match = parent.plaintexts === null ? null : context.filePool.matchListing(load.listing, parent.plaintexts);
    const partsByEntry = match === null ? null : byEntry(load.listing.stats, match, match.subtrees);
    return directoryLoad({ ...load.listing, match, partsByEntry }, parentParts, parent);
  });
}

/**
 * Queues a listed directory's subdirectories to be loaded ahead of the walk, so the walk does not
 * wait for one listing round trip and one parent-tree read per directory.
 */
function queueSubdirectories(context: Context, listing: WalkListing, parentPartsOf: (entry: number) => readonly BlobId[] | null, rootDevice: bigint, speculative = false): void {
  const items: PendingDirectory[] = [];
  for (let i = 0; i < listing.paths.length; i++) {
    const stat = listing.stats[i];
    if (stat?.type !== "dir" || context.isExcluded(listing.paths[i]!, stat)) continue;
    if (context.oneFileSystem && stat.device !== rootDevice) continue;
    const key = listing.paths[i]!.toString("latin1");
    const queued = context.pendingByKey.get(key);
    if (queued !== undefined) {
      if (!speculative) queued.speculative = false; // the walk is here: needed soon
      // Queued as new by a load ahead of a directory the walk then found moved: load it with its old entries.
      if (queued.parentParts === null) queued.parentParts = parentPartsOf(i);
      continue;
    }
    if (context.loads.has(key)) continue;
    const item = { key, path: listing.paths[i]!, parentParts: parentPartsOf(i), rootDevice, taken: false, speculative };
    items.push(item);
    context.pendingByKey.set(key, item);
  }
  if (items.length > 0) context.pending.push({ items, next: 0 });
  startLoads(context);
}

function startLoads(context: Context): void {
  while (context.loadsInFlight < DIRECTORY_LOADS_AHEAD_MAX && context.entriesAhead < ENTRIES_AHEAD_MAX && context.pending.length > 0) {
    const group = context.pending[context.pending.length - 1]!;
    if (group.next >= group.items.length) {
      context.pending.pop();
      continue;
    }
    const item = group.items[group.next]!;
    if (!item.taken && item.speculative && (context.loadsInFlight >= SPECULATIVE_LOADS_MAX || context.entriesAhead >= SPECULATIVE_ENTRIES_AHEAD_MAX)) break;
    group.next++;
    if (item.taken) continue;
    context.pendingByKey.delete(item.key);
    const ahead: AheadLoad = { load: loadDirectory(context, item.path, item.parentParts, item.rootDevice), parentParts: item.parentParts, entries: 0 };
    context.loads.set(item.key, ahead);
    context.loadsInFlight++;
    const finished = (entries: number): void => {
      context.loadsInFlight--;
      if (context.loads.get(item.key) === ahead) {
        ahead.entries = entries;
        context.entriesAhead += entries;
      }
      startLoads(context);
    };
    // A failure is seen by the walk when it takes the load.
    ahead.load.then((load) => finished("error" in load.listing ? 0 : load.listing.names.length), () => finished(0));
  }
}

/** True when the entries are those of the parent snapshot's directory, field for field. */
function sameEntries(nodes: readonly Node[], previous: Map<string, Node>): boolean {
  if (nodes.length !== previous.size) return false;
  for (const node of nodes) {
    const before = previous.get(nameKey(node.name));
    if (before === undefined || !sameNode(node, before)) return false;
  }
  return true;
}

/** A file in a directory the parent snapshot does not have: the same inode, unchanged, in the parent? */
async function movedFile(context: Context, stat: SourceStat): Promise<Node | null> {
  if (context.parentRoot === null) return null;
  return (await inodeTable(context, context.parentRoot)).find(stat);
}

/** A directory with a name the parent snapshot does not have: the same inode there (moved, renamed)? */
async function movedDirectory(context: Context, stat: SourceStat): Promise<Node | null> {
  if (context.parentRoot === null) return null;
  return (await inodeTable(context, context.parentRoot)).findDirectory(stat);
}

function inodeTable(context: Context, parentRoot: readonly BlobId[]): Promise<InodeTable> {
  if (context.inodeTable === null) {
    markPhase("inode table asked");
    const readBefore = context.partsReadBefore ?? undefined;
    context.partsReadBefore = null; // the build reads the rest; the walk takes what it read (takePart)
    context.inodeTable = InodeTable.build(context.store, parentRoot, context.signal, readBefore).then((table) => {
      markPhase("inode table built");
      return (context.builtInodeTable = table);
    });
  }
  return context.inodeTable;
}

function reason(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

/** Spread into a file's node; shared, not built per file (issue 5: main-thread garbage per small file). */
const SPARSE: Partial<Node> = Object.freeze({ sparse: true });
const NOT_SPARSE: Partial<Node> = Object.freeze({});

/** Not async: most files start their read in this call, without a promise and an async frame (issue 5). */
function walkFile(context: Context, path: Buffer, name: Uint8Array, stat: SourceStat, before: Node | null): Later<Node | null> | Promise<Later<Node | null>> {
  const { progress } = context;
  progress.files++;
  progress.sizeBytes += stat.sizeBytes;
  const sparse = isSparse(stat) ? SPARSE : NOT_SPARSE;
  if (isUnchangedFile(stat, before)) {
    progress.filesUnchanged++;
    return later(nodeFromStat(context, name, stat, { chunks: before.chunks, ...sparse }));
  }
  if (before === null) progress.filesNew++;
  else progress.filesChanged++;
  const linkKey = stat.nlink > 1 ? `${stat.device}:${stat.inode}` : null;
  const linked = linkKey === null ? undefined : context.hardlinks.get(linkKey);
  if (linked !== undefined) return later(linked.then((content) => nodeFromStat(context, name, stat, { ...content, ...sparse })));
  checkCancelled(context);
  const release = context.files.tryAcquire(1);
  if (release !== null) return readFile(context, path, name, stat, sparse, linkKey, release);
  return context.files.acquire(1).then((waited) => readFile(context, path, name, stat, sparse, linkKey, waited));
}

/** Starts a file's read, the files bound taken (released when the read ends). */
function readFile(context: Context, path: Buffer, name: Uint8Array, stat: SourceStat, sparse: Partial<Node>, linkKey: string | null, release: () => void): Later<Node | null> {
  // Most files: one async step from the read to the node (no finally, then and wrapper per file).
  if (linkKey === null) return later(readFileNode(context, path, name, stat, sparse, release));
  const reading = later(readFileChunks(context, path, stat).finally(release)).done;
  const content = reading.then((r) => (r === null || r === VANISHED ? { chunks: [], sizeBytes: 0, unreadable: "unreadable" } : { chunks: r.chunks, sizeBytes: r.sizeBytes }));
  context.hardlinks.set(linkKey, later(content).done);
  return later(reading.then((read) => fileNode(context, name, stat, sparse, read)));
}

/** A file's chunks read (the files semaphore released at the end) and its node: one async step per file. */
async function readFileNode(context: Context, path: Buffer, name: Uint8Array, stat: SourceStat, sparse: Partial<Node>, release: () => void): Promise<Node | null> {
  const read = new FileRead(context);
  let outcome: FileRead | null | typeof VANISHED;
  try {
    outcome = readDone(context, path, stat, read, await startRead(context, path, read));
  } catch (error) {
    outcome = readFailed(context, path, read, error);
  } finally {
    release();
  }
  return fileNode(context, name, stat, sparse, outcome);
}

function fileNode(context: Context, name: Uint8Array, stat: SourceStat, sparse: Partial<Node>, read: { chunks: ChunkRef[]; sizeBytes: number } | null | typeof VANISHED): Node | null {
  // A file deleted between the listing and the read is left out (warned), not kept as unreadable.
  if (read === VANISHED) return null;
  if (read === null) return nodeFromStat(context, name, stat, { chunks: [], unreadable: "unreadable" });
  return nodeFromStat(context, name, read.sizeBytes === stat.sizeBytes ? stat : { ...stat, sizeBytes: read.sizeBytes }, { chunks: read.chunks, ...sparse });
}

const VANISHED = "vanished";

/**
 * The hooks of one file's read: one object with its methods on the prototype, where two closures,
 * a hooks object and a releases array were built per file (issue 5).
 */
class FileRead implements FileHooks {
  chunks: ChunkRef[] = [];
  /** The file's size as read, once read. */
  sizeBytes = 0;
  /** One release per block whose new chunks are being sealed (blocks of a file arrive in order). */
  private releases: (() => void)[] | null = null;

  constructor(private readonly context: Context) {}

  async onChunks(infos: readonly ChunkInfo[]): Promise<boolean[]> {
    const { context } = this;
    checkCancelled(context);
    let neededBytes = 0;
    const need = new Array<boolean>(infos.length);
    for (let i = 0; i < infos.length; i++) {
      const info = infos[i]!;
      context.progress.bytesRead += info.sizeBytes;
      this.chunks.push({ id: info.id ?? HOLE_ID, sizeBytes: info.sizeBytes });
      const needed = info.id !== null && context.store.claimBlob(info.id);
      if (needed) neededBytes += info.sizeBytes;
      need[i] = needed;
    }
    // Bound the data being sealed and written: the worker waits for this answer.
    if (neededBytes > 0) (this.releases ??= []).push(context.bytes.tryAcquire(neededBytes) ?? (await context.bytes.acquire(neededBytes)));
    return need;
  }

  async onSealed(sealed: readonly SealedChunk[]): Promise<void> {
    const { context } = this;
    for (const chunk of sealed) {
      context.progress.bytesStored += await context.store.putSealedBlob(chunk.id, chunk.record, chunk.rawLength);
    }
    if (sealed.length > 0) this.releases?.shift()?.();
  }

  onWhole(file: WholeFile): boolean | Promise<void> {
    const { context } = this;
    const { store, progress } = context;
    // Its records are sealed already: the bound on bytes being sealed is only asked, not held.
    if (store.putSealedBlobNow === undefined || !context.bytes.isFree(file.sizeBytes)) return false;
    checkCancelled(context);
    const { chunks, sealed } = file;
    for (let i = 0; i < chunks.length; i++) {
      const info = chunks[i]!;
      progress.bytesRead += info.sizeBytes;
      if (info.id === null) {
        chunks[i] = { id: HOLE_ID, sizeBytes: info.sizeBytes };
        continue;
      }
      if (!store.claimBlob(info.id)) continue;
      const record = sealed[i];
      assert(record !== null && record !== undefined, "a whole file's new chunk came without its record");
      progress.bytesStored += store.putSealedBlobNow(record.id, record.record, record.rawLength);
    }
    // The message's chunk list (made for this file by unpackWholes, holes now HOLE_ID) becomes the
    // file's: no copy of the array nor of its {id, sizeBytes} entries per small file.
    this.chunks = chunks as ChunkRef[];
    return store.writesBehind?.() ?? true;
  }

  releaseAll(): void {
    for (const release of this.releases ?? []) release();
    this.releases = null;
  }
}

/** The file's chunks; null when it could not be read (reported), VANISHED when it no longer exists (warned). */
async function readFileChunks(context: Context, path: Buffer, stat: SourceStat): Promise<FileRead | null | typeof VANISHED> {
  const read = new FileRead(context);
  try {
    return readDone(context, path, stat, read, await startRead(context, path, read));
  } catch (error) {
    return readFailed(context, path, read, error);
  }
}

function startRead(context: Context, path: Buffer, read: FileRead): Promise<ChunkedFile> {
  checkCancelled(context);
  setCurrentPath(context.progress, path);
  return context.filePool.backupFile(path, read);
}

/** The read itself is the chunks and size of the file (no object per file to carry them). */
function readDone(context: Context, path: Buffer, stat: SourceStat, read: FileRead, result: ChunkedFile): FileRead {
  if (result.sizeBytes !== stat.sizeBytes || result.mtimeNs !== stat.mtimeNs || result.ctimeNs !== stat.ctimeNs) {
    context.onWarning(path, "file changed while it was read; the snapshot holds the bytes as read");
  }
  read.sizeBytes = result.sizeBytes;
  return read;
}

function readFailed(context: Context, path: Buffer, read: FileRead, error: unknown): null | typeof VANISHED {
  read.releaseAll();
  if (!(error instanceof FileReadError)) throw error;
  if (error.code === "ENOENT") {
    context.onWarning(path, "vanished before it could be read; left out of the snapshot");
    return VANISHED;
  }
  report(context, path, error);
  return null;
}

async function storeTree(context: Context, nodes: readonly (Node | EncodedEntry)[]): Promise<BlobId[]> {
  const parts: BlobId[] = [];
  let part: (Node | EncodedEntry)[] = [];
  const flush = async () => {
    const bytes = encodeTreePartFrom(part);
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
