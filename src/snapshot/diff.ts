/**
 * Differences between two snapshot trees (`suede diff`), read through the BlobStore port. Pure apart
 * from the port's getBlob: no file system, no clock.
 *
 * Both directories are walked in name order (a merge join by compareNames), one tree part per side in
 * memory at a time. Trees are content-addressed, so:
 * - a directory whose part-ID list is equal on both sides is skipped without reading it;
 * - inside a changed directory, parts present on both sides hold identical entries (same ID, same
 *   bytes) and names are unique, so those parts are dropped from both lists before the merge join
 *   and never read: an edit in a huge, multi-part directory reads only the parts it touched.
 *
 * What is reported, in pre-order (a directory before its entries), names in byte order:
 * - "added" / "removed": an entry on one side only. By default every entry below an added or removed
 *   directory is reported too, as restic diff does; with expandDirectories: false only the directory.
 * - "type": the entry's type differs (e.g. file → symlink, dir → file). Reported once, with no
 *   "added"/"removed" for the children of a directory on either side (unlike restic, which lists them).
 * - "modified": a file whose content differs: chunk list (IDs and sizes), size, or readability.
 * - "metadata": same type and content, but a different mode, uid, gid, user, group, mtime, link
 *   target, device number, xattrs or sparse flag. A file whose content changed is reported once as
 *   "modified", whatever else changed. A directory is reported as "metadata" when its own fields
 *   differ; its changed entries follow as their own changes.
 * - Not differences: ctime, inode, device and link count (they change without a change to the entry's
 *   content or metadata: a restore, a copy to another disk, a new hard link elsewhere) and the size
 *   field of directories.
 */
import type { BlobId } from "../core/ids.ts";
import type { BlobStore } from "../core/ports.ts";
import type { Node } from "../core/types.ts";
import { bytesEqual, toHex } from "../util/bytes.ts";
import { compareNames } from "./tree-codec.ts";
import { readTree } from "./tree-reader.ts";
import type { WalkBudget } from "./walk-budget.ts";

export type ChangeKind = "added" | "removed" | "modified" | "metadata" | "type";

export interface Change {
  readonly kind: ChangeKind;
  /** Absolute, "/"-joined raw bytes (basePath + "/" + names). */
  readonly path: Uint8Array;
  /** null for "added". */
  readonly before: Node | null;
  /** null for "removed". */
  readonly after: Node | null;
}

export interface DiffOptions {
  /** The path of the compared directories; entries are reported below it. Default: the root ("" → "/name"). */
  readonly basePath?: Uint8Array;
  /** Also report every entry below an added or removed directory (default true, as restic diff does). */
  readonly expandDirectories?: boolean;
  /** Each side's recorded counts: a walk that meets more entries stops (a crafted DAG of trees). */
  readonly budgets?: { readonly before: WalkBudget; readonly after: WalkBudget };
}

/** Changes that turn the directory with tree parts `before` into the one with parts `after`. */
export async function* diffTrees(
  store: BlobStore,
  before: readonly BlobId[],
  after: readonly BlobId[],
  options: DiffOptions = {},
): AsyncGenerator<Change> {
  const context: Context = { store, expand: options.expandDirectories ?? true, budgets: options.budgets ?? null };
  yield* diffDirectory(context, before, after, options.basePath ?? new Uint8Array(0));
}

interface Context {
  readonly store: BlobStore;
  readonly expand: boolean;
  readonly budgets: DiffOptions["budgets"] | null;
}

/** The entries of a directory, each counted against that side's budget. */
async function* readCounted(context: Context, parts: readonly BlobId[], side: "before" | "after"): AsyncGenerator<Node> {
  const budget = context.budgets?.[side];
  for await (const node of readTree(context.store, parts)) {
    budget?.spend(node);
    yield node;
  }
}

function joinPath(directory: Uint8Array, name: Uint8Array): Uint8Array {
  const slash = directory.byteLength > 0 && directory[directory.byteLength - 1] === 0x2f ? 0 : 1;
  const path = new Uint8Array(directory.byteLength + slash + name.byteLength);
  path.set(directory, 0);
  if (slash === 1) path[directory.byteLength] = 0x2f;
  path.set(name, directory.byteLength + slash);
  return path;
}

function sameIds(a: readonly BlobId[], b: readonly BlobId[]): boolean {
  return a.length === b.length && a.every((id, i) => bytesEqual(id, b[i]!));
}

/** Both lists without the parts they share (counted as a multiset), order kept. */
function withoutSharedParts(a: readonly BlobId[], b: readonly BlobId[]): [BlobId[], BlobId[]] {
  const inA = new Map<string, number>();
  for (const id of a) inA.set(toHex(id), (inA.get(toHex(id)) ?? 0) + 1);
  const shared = new Map<string, number>();
  const onlyB: BlobId[] = [];
  for (const id of b) {
    const key = toHex(id);
    const left = inA.get(key) ?? 0;
    if (left > 0) {
      inA.set(key, left - 1);
      shared.set(key, (shared.get(key) ?? 0) + 1);
    } else {
      onlyB.push(id);
    }
  }
  const onlyA: BlobId[] = [];
  for (const id of a) {
    const key = toHex(id);
    const n = shared.get(key) ?? 0;
    if (n > 0) shared.set(key, n - 1);
    else onlyA.push(id);
  }
  return [onlyA, onlyB];
}

async function* diffDirectory(context: Context, before: readonly BlobId[], after: readonly BlobId[], path: Uint8Array): AsyncGenerator<Change> {
  if (sameIds(before, after)) return;
  const [partsBefore, partsAfter] = withoutSharedParts(before, after);
  const left = readCounted(context, partsBefore, "before");
  const right = readCounted(context, partsAfter, "after");
  try {
    let l = await left.next();
    let r = await right.next();
    while (!l.done || !r.done) {
      const order = l.done ? 1 : r.done ? -1 : compareNames(l.value.name, r.value.name);
      if (order < 0) {
        const node = l.value as Node;
        yield* oneSide(context, "removed", node, joinPath(path, node.name));
        l = await left.next();
      } else if (order > 0) {
        const node = r.value as Node;
        yield* oneSide(context, "added", node, joinPath(path, node.name));
        r = await right.next();
      } else {
        const a = l.value as Node;
        const b = r.value as Node;
        yield* diffEntry(context, a, b, joinPath(path, a.name));
        l = await left.next();
        r = await right.next();
      }
    }
  } finally {
    await left.return(undefined);
    await right.return(undefined);
  }
}

async function* oneSide(context: Context, kind: "added" | "removed", node: Node, path: Uint8Array): AsyncGenerator<Change> {
  yield kind === "added" ? { kind, path, before: null, after: node } : { kind, path, before: node, after: null };
  if (node.type !== "dir" || !context.expand) return;
  for await (const child of readCounted(context, node.subtree ?? [], kind === "added" ? "after" : "before")) {
    yield* oneSide(context, kind, child, joinPath(path, child.name));
  }
}

async function* diffEntry(context: Context, before: Node, after: Node, path: Uint8Array): AsyncGenerator<Change> {
  if (before.type !== after.type) {
    yield { kind: "type", path, before, after };
    return;
  }
  if (before.type === "dir") {
    if (!sameMetadata(before, after)) yield { kind: "metadata", path, before, after };
    yield* diffDirectory(context, before.subtree ?? [], after.subtree ?? [], path);
    return;
  }
  if (!sameContent(before, after)) yield { kind: "modified", path, before, after };
  else if (!sameMetadata(before, after)) yield { kind: "metadata", path, before, after };
}

/** File content: chunk IDs and sizes, total size, readability. Other types have no content here. */
function sameContent(a: Node, b: Node): boolean {
  if (a.type !== "file" || b.type !== "file") return true;
  if (a.sizeBytes !== b.sizeBytes || a.unreadable !== b.unreadable) return false;
  const ca = a.chunks ?? [];
  const cb = b.chunks ?? [];
  return ca.length === cb.length && ca.every((chunk, i) => chunk.sizeBytes === cb[i]!.sizeBytes && bytesEqual(chunk.id, cb[i]!.id));
}

function optionalBytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a === undefined || b === undefined ? a === b : bytesEqual(a, b);
}

/** Metadata that diff reports; ctime, inode, device, nlink (and a directory's size) are deliberately absent. */
function sameMetadata(a: Node, b: Node): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.user !== b.user || a.group !== b.group) return false;
  if (a.mtimeNs !== b.mtimeNs || a.rdev !== b.rdev || (a.sparse ?? false) !== (b.sparse ?? false)) return false;
  if (!optionalBytesEqual(a.linkTarget, b.linkTarget)) return false;
  const xa = a.xattrs ?? [];
  const xb = b.xattrs ?? [];
  return xa.length === xb.length && xa.every(([k, v], i) => bytesEqual(k, xb[i]![0]) && bytesEqual(v, xb[i]![1]));
}
