/**
 * Restore: walk a snapshot's trees and recreate entries under a target root. Directories get
 * their metadata after their children (creating children changes a directory's mtime). Hard links
 * are recreated as links; zero runs of sparse files become holes. A damaged blob makes that one
 * file fail (it is removed, reported, and the restore ends non-zero); everything else goes on.
 */
import { type BlobId, isHoleId } from "../core/ids.ts";
import type { BlobStore, FilePiece, TargetFs } from "../core/ports.ts";
import type { Node } from "../core/types.ts";
import { SuedeError } from "../errors/errors.ts";
import { displayPath } from "../fs/display-path.ts";
import { isSafeName, joinPath } from "../fs/join.ts";
import { readTreeParts } from "../snapshot/tree-reader.ts";
import { TreeBudgetError, type WalkBudget } from "../snapshot/walk-budget.ts";
import { Semaphore } from "../util/semaphore.ts";
import { TreeAhead } from "./tree-ahead.ts";
import { RESTORE_BYTES_IN_FLIGHT_MAX, RESTORE_DIRECT_WRITE_AHEAD_BYTES, RESTORE_DIRECT_WRITE_MIN_BYTES, RESTORE_LEAF_WEIGHT_MIN_BYTES, RESTORE_READ_AHEAD_BYTES, TREE_DEPTH_MAX } from "../util/limits.ts";

export interface RestoreProgress {
  files: number;
  dirs: number;
  bytesWritten: number;
  failed: number;
  currentPath: string;
}

export function emptyRestoreProgress(): RestoreProgress {
  return { files: 0, dirs: 0, bytesWritten: 0, failed: 0, currentPath: "" };
}

export interface RestoreOptions {
  readonly root: readonly BlobId[];
  /** The snapshot's recorded counts: a walk that meets more entries stops (a crafted DAG of trees). */
  readonly budget: WalkBudget;
  /** Existing directory that receives the snapshot's absolute paths. */
  readonly targetRoot: Buffer;
  /** Snapshot paths (as components) to restore, with their ancestors; null restores everything. */
  readonly includes: readonly (readonly Uint8Array[])[] | null;
  readonly overwrite: boolean;
  readonly restoreOwner: boolean;
  /** An entry could not be restored; restore goes on and the caller reports it. */
  readonly onError: (path: Buffer, error: Error) => void;
  readonly signal?: AbortSignal;
  readonly progress: RestoreProgress;
}

interface Context extends RestoreOptions {
  readonly store: BlobStore;
  readonly target: TargetFs;
  /** Hard links: (device, inode) → the restored first name, once it is written. */
  readonly hardlinks: Map<string, Promise<Buffer | null>>;
  readonly leaves: Semaphore;
  /** Trees are read through this: subdirectories' trees are asked for ahead (whole restores only). */
  readonly trees: TreeAhead;
}

/*
 * The walk goes depth first and starts files, links and specials as it meets them (within
 * RESTORE_BYTES_IN_FLIGHT_MAX, see leafWeight); each directory gets its metadata when everything in it is
 * done. Walk functions return { done } so the walk never waits for a directory's files.
 */
interface Later {
  readonly done: Promise<void>;
}

export async function restoreTree(store: BlobStore, target: TargetFs, options: RestoreOptions): Promise<void> {
  const context: Context = {
    ...options,
    store,
    target,
    hardlinks: new Map(),
    leaves: new Semaphore(RESTORE_BYTES_IN_FLIGHT_MAX),
    trees: new TreeAhead(store),
  };
  await (await restoreChildren(context, options.root, options.targetRoot, [], 0)).done;
}

type Inclusion = "all" | "partial" | "none";

function inclusion(includes: RestoreOptions["includes"], path: readonly Uint8Array[]): Inclusion {
  if (includes === null) return "all";
  let result: Inclusion = "none";
  for (const include of includes) {
    const common = Math.min(include.length, path.length);
    let same = true;
    for (let i = 0; i < common && same; i++) same = Buffer.compare(include[i]!, path[i]!) === 0;
    if (!same) continue;
    if (path.length >= include.length) return "all";
    result = "partial";
  }
  return result;
}

function isFatal(error: unknown): boolean {
  return error instanceof TreeBudgetError || (error instanceof SuedeError && (error.code === "CANCELLED" || error.code === "NO_SPACE"));
}

/** Runs one entry's restore; a failure is reported and counted unless it must stop everything. */
async function guarded(context: Context, path: Buffer, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (isFatal(error)) throw error;
    context.progress.failed++;
    context.onError(path, error instanceof Error ? error : new Error(String(error)));
  }
}

async function restoreChildren(context: Context, parts: readonly BlobId[], dirPath: Buffer, components: readonly Uint8Array[], depth: number): Promise<Later> {
  if (depth > TREE_DEPTH_MAX) throw new SuedeError("VAULT_CORRUPT", "snapshot nests deeper than any backup makes");
  const pending: Promise<void>[] = [];
  const track = (promise: Promise<void>) => {
    promise.catch(() => undefined);
    pending.push(promise);
  };
  // Small files settle without rejecting (see settleSmallFile); an error that must stop the restore lands here.
  const stop: { error?: unknown } = {};
  // A partial restore reads only the trees on its paths: no read-ahead there.
  const readAhead = context.includes === null;
  for await (const nodes of readTreeParts(context.trees, parts)) {
    if (readAhead) context.trees.readAhead(nodes);
    for (const node of nodes) {
      if (context.signal?.aborted === true) throw new SuedeError("CANCELLED", "restore cancelled");
      context.budget.spend(node);
      if (!isSafeName(node.name)) {
        if (node.subtree !== undefined) context.trees.forget(node.subtree);
        context.progress.failed++;
        context.onError(joinPath(dirPath, Buffer.from(displayPath(node.name))), new SuedeError("VAULT_CORRUPT", "unsafe name in snapshot skipped"));
        continue;
      }
      // The entry's path as components is built only where it is used (includes, subdirectories).
      const included = context.includes === null ? "all" : inclusion(context.includes, [...components, node.name]);
      if (included === "none") continue;
      const targetPath = joinPath(dirPath, node.name);
      if (node.type === "dir") {
        let below: Later = { done: Promise.resolve() };
        await guarded(context, targetPath, async () => {
          await prepare(context, targetPath, true);
          await context.target.mkdir(targetPath);
          context.progress.dirs++;
          below = await restoreChildren(context, node.subtree ?? [], targetPath, [...components, node.name], depth + 1);
        });
        // Unread when the directory failed before (or while) its walk started.
        if (node.subtree !== undefined) context.trees.forget(node.subtree);
        track(
          below.done.then(() =>
            included === "all" ? guarded(context, targetPath, () => context.target.setMetadata(targetPath, node, { restoreOwner: context.restoreOwner })) : undefined,
          ),
        );
        continue;
      }
      if (included !== "all") continue;
      const weight = leafWeight(node);
      const release = context.leaves.tryAcquire(weight) ?? (await context.leaves.acquire(weight));
      if (isPlainSmallFile(context, node)) {
        pending.push(settleSmallFile(context, node, targetPath, release, stop));
        continue;
      }
      track(guarded(context, targetPath, () => restoreLeaf(context, node, targetPath)).finally(release));
    }
  }
  // Everything in flight settles before a failure (a full disk) is passed up: a file being written
  // then is finished or removed, never left cut short while the caller exits.
  const done = Promise.allSettled(pending).then((results) => {
    for (const result of results) if (result.status === "rejected") throw result.reason;
    if ("error" in stop) throw stop.error;
  });
  done.catch(() => undefined);
  return { done };
}

/** A leaf's share of the bytes in flight: what it holds in memory at most, or the floor. */
function leafWeight(node: Node): number {
  const ahead = node.type === "file" && node.sizeBytes >= RESTORE_DIRECT_WRITE_MIN_BYTES ? RESTORE_DIRECT_WRITE_AHEAD_BYTES : RESTORE_READ_AHEAD_BYTES;
  const bytes = node.type === "file" ? Math.min(node.sizeBytes, ahead) : 0;
  return Math.max(bytes, RESTORE_LEAF_WEIGHT_MIN_BYTES);
}

/** With --overwrite, clears what is in the way; without it the target was checked empty up front. */
async function prepare(context: Context, path: Buffer, wantDirectory: boolean): Promise<void> {
  if (!context.overwrite) return;
  const existing = await context.target.existingType(path);
  if (existing === null || (wantDirectory && existing === "dir")) return;
  await context.target.remove(path);
}

async function restoreLeaf(context: Context, node: Node, path: Buffer): Promise<void> {
  context.progress.currentPath = displayPath(path);
  if (node.unreadable !== undefined) {
    throw new SuedeError("RESTORE_INCOMPLETE", `not restored: it could not be read at backup time (${node.unreadable})`);
  }
  await prepare(context, path, false);
  switch (node.type) {
    case "file":
      await restoreFile(context, node, path); // metadata is set through the open file
      return;
    case "symlink":
      await context.target.symlink(path, Buffer.from(node.linkTarget ?? new Uint8Array()));
      break;
    case "fifo":
    case "socket":
    case "chardev":
    case "blockdev":
      await context.target.mknod(path, node.type, node.mode, node.rdev ?? 0n);
      break;
    case "dir":
      throw new SuedeError("VAULT_CORRUPT", "directory handled as a leaf");
  }
  await context.target.setMetadata(path, node, { restoreOwner: context.restoreOwner });
}

/**
 * Most files of a restore: one link, under the direct-write size, written where nothing is in the
 * way. These take a plain promise chain (restoreSmallFile) instead of restoreLeaf's async steps.
 */
function isPlainSmallFile(context: Context, node: Node): boolean {
  return node.type === "file" && node.nlink <= 1 && node.unreadable === undefined && !context.overwrite && node.sizeBytes < RESTORE_DIRECT_WRITE_MIN_BYTES;
}

/**
 * restoreSmallFile's outcome handled as guarded would, releasing the leaf's weight; the promise never
 * rejects (no extra catch per file): an error that must stop everything goes to stop.
 */
function settleSmallFile(context: Context, node: Node, path: Buffer, release: () => void, stop: { error?: unknown }): Promise<void> {
  let written: Promise<void>;
  try {
    written = restoreSmallFile(context, node, path);
  } catch (error) {
    // A synchronous throw (none is expected) fails this file like any other error, not the walk.
    written = Promise.reject(error);
  }
  return written.then(release, (error: unknown) => {
    release();
    if (isFatal(error)) {
      if (!("error" in stop)) stop.error = error;
      return;
    }
    context.progress.failed++;
    context.onError(path, error instanceof Error ? error : new Error(String(error)));
  });
}

/**
 * A plain small file (isPlainSmallFile): its blobs are asked for at once and handed to the target
 * as one array, with metadata. The same steps as restoreLeaf → restoreFile → filePieces, without an
 * async frame, a generator or an await per file: usr's ~19k files made ~150 MB of those (issue 5).
 */
function restoreSmallFile(context: Context, node: Node, path: Buffer): Promise<void> {
  context.progress.currentPath = displayPath(path);
  const chunks = node.chunks ?? [];
  const problem = chunkTotalProblem(node);
  if (problem !== null) return Promise.reject(problem);
  const options = writeOptions(context, node);
  const write = (pieces: readonly FilePiece[]) => context.target.writeFile(path, pieces, options);
  let written: Promise<void>;
  if (chunks.length === 0) {
    written = write([]);
  } else if (chunks.length === 1 && !isHoleId(chunks[0]!.id)) {
    const chunk = chunks[0]!;
    written = context.store.getBlob(chunk.id).then((data) => write([checkedPiece(context, chunk.sizeBytes, data)]));
  } else {
    const blobs = chunks.map((chunk) => (isHoleId(chunk.id) ? null : context.store.getBlob(chunk.id)));
    for (const blob of blobs) blob?.catch(() => undefined);
    written = Promise.all(blobs).then((datas) =>
      write(chunks.map((chunk, i): FilePiece => (datas[i] === null ? { zeroBytes: chunk.sizeBytes } : checkedPiece(context, chunk.sizeBytes, datas[i]!)))),
    );
  }
  return written.then(
    () => {
      context.progress.files++;
    },
    (error: unknown) => context.target.remove(path).then(() => Promise.reject(error), () => Promise.reject(error)),
  );
}

/** The tree's chunk sizes must add up to the file's size: a mismatch is damage, found before anything is written. */
function chunkTotalProblem(node: Node): SuedeError | null {
  let total = 0;
  for (const chunk of node.chunks ?? []) total += chunk.sizeBytes;
  return total === node.sizeBytes ? null : new SuedeError("VAULT_CORRUPT", `chunk sizes add up to ${total}, file size is ${node.sizeBytes}`);
}

function writeOptions(context: Context, node: Node) {
  return { sparse: node.sparse === true, sizeBytes: node.sizeBytes, metadata: { metadata: node, restoreOwner: context.restoreOwner } };
}

/** A chunk's plaintext as a piece, once its length is the one the tree recorded. */
function checkedPiece(context: Context, sizeBytes: number, data: Uint8Array): FilePiece {
  if (data.byteLength !== sizeBytes) throw new SuedeError("VAULT_CORRUPT", "chunk has the wrong size");
  context.progress.bytesWritten += data.byteLength;
  return { data };
}

/** Writes a file with its metadata, or links it to its first name (a link shares the metadata). */
async function restoreFile(context: Context, node: Node, path: Buffer): Promise<boolean> {
  const linkKey = node.nlink > 1 ? `${node.device}:${node.inode}` : null;
  const first = linkKey === null ? undefined : context.hardlinks.get(linkKey);
  if (first !== undefined) {
    const firstPath = await first;
    if (firstPath !== null) {
      await context.target.link(firstPath, path);
      context.progress.files++;
      return true;
    }
  }
  let written: (value: Buffer | null) => void = () => undefined;
  if (linkKey !== null && first === undefined) context.hardlinks.set(linkKey, new Promise((resolve) => (written = resolve)));
  try {
    const problem = chunkTotalProblem(node);
    if (problem !== null) throw problem;
    try {
      await context.target.writeFile(path, filePieces(context, node), writeOptions(context, node));
    } catch (error) {
      await context.target.remove(path).catch(() => undefined);
      throw error;
    }
    context.progress.files++;
    written(path);
    return false;
  } catch (error) {
    written(null);
    throw error;
  }
}

/**
 * The file's bytes chunk by chunk, with up to RESTORE_READ_AHEAD_BYTES of blobs asked for ahead
 * (all at once, so the vault reads them as one run and opens them on every core). A big file's
 * chunks are handed over as writeTo pieces when the store can write them into the target itself.
 */
async function* filePieces(context: Context, node: Node): AsyncGenerator<FilePiece> {
  const chunks = node.chunks ?? [];
  const writeBlobTo = context.store.writeBlobTo?.bind(context.store);
  if (writeBlobTo !== undefined && node.sizeBytes >= RESTORE_DIRECT_WRITE_MIN_BYTES) {
    // The target starts these ahead (bounded) itself; each resolves once its bytes are in the file.
    for (const chunk of chunks) {
      if (isHoleId(chunk.id)) {
        yield { zeroBytes: chunk.sizeBytes };
        continue;
      }
      const writeTo = async (fd: number, position: number) => {
        const written = await writeBlobTo(chunk.id, fd, position);
        if (written !== chunk.sizeBytes) throw new SuedeError("VAULT_CORRUPT", "chunk has the wrong size");
        context.progress.bytesWritten += written;
      };
      yield { sizeBytes: chunk.sizeBytes, writeTo };
    }
    return;
  }
  const ahead: Promise<Uint8Array>[] = [];
  let next = 0;
  let aheadBytes = 0;
  const fill = () => {
    while ((ahead.length === 0 || aheadBytes < RESTORE_READ_AHEAD_BYTES) && next < chunks.length) {
      const chunk = chunks[next++]!;
      const pending = isHoleId(chunk.id) ? Promise.resolve(new Uint8Array(0)) : context.store.getBlob(chunk.id);
      pending.catch(() => undefined);
      ahead.push(pending);
      aheadBytes += isHoleId(chunk.id) ? 0 : chunk.sizeBytes;
    }
  };
  for (const chunk of chunks) {
    fill();
    const data = await ahead.shift()!;
    if (!isHoleId(chunk.id)) aheadBytes -= chunk.sizeBytes;
    if (isHoleId(chunk.id)) {
      yield { zeroBytes: chunk.sizeBytes };
      continue;
    }
    yield checkedPiece(context, chunk.sizeBytes, data);
  }
}
