/** Reading trees back through the BlobStore port: list a directory, find a path. */
import type { BlobId } from "../core/ids.ts";
import type { BlobStore } from "../core/ports.ts";
import type { Node } from "../core/types.ts";
import { VaultCorruptError } from "../errors/errors.ts";
import { compareNames, decodeTreePart } from "./tree-codec.ts";

export async function readTreePart(store: Pick<BlobStore, "getBlob">, id: BlobId): Promise<Node[]> {
  return decodeStoredPart(id, await store.getBlob(id));
}

function decodeStoredPart(id: BlobId, bytes: Uint8Array): Node[] {
  try {
    return decodeTreePart(bytes);
  } catch (cause) {
    throw new VaultCorruptError(0, `tree ${Buffer.from(id).toString("hex").slice(0, 16)}… does not decode`, { cause });
  }
}

/** Entries of a directory in name order, one part at a time (memory stays one part). */
export async function* readTree(store: Pick<BlobStore, "getBlob">, parts: readonly BlobId[]): AsyncGenerator<Node> {
  for await (const nodes of readTreeParts(store, parts)) yield* nodes;
}

/**
 * A directory's parts' entries, a part at a time, checked as readTree checks them: a walk that
 * handles many entries (restore) then awaits once per part instead of once per entry.
 */
export async function* readTreeParts(store: Pick<BlobStore, "getBlob">, parts: readonly BlobId[]): AsyncGenerator<readonly Node[]> {
  let previous: Uint8Array | null = null;
  for (const id of parts) {
    const nodes = await readTreePart(store, id);
    checkPartOrder(id, previous, nodes);
    if (nodes.length > 0) previous = nodes[nodes.length - 1]!.name;
    yield nodes;
  }
}

/** A whole directory from its parts' plaintext (already read from the store), checked as readTree checks. */
export function decodeTree(parts: readonly BlobId[], plaintexts: readonly Uint8Array[]): Node[] {
  const all: Node[] = [];
  let previous: Uint8Array | null = null;
  for (let i = 0; i < parts.length; i++) {
    const nodes = decodeStoredPart(parts[i]!, plaintexts[i]!);
    checkPartOrder(parts[i]!, previous, nodes);
    if (nodes.length > 0) previous = nodes[nodes.length - 1]!.name;
    for (const node of nodes) all.push(node);
  }
  return all;
}

/** Each part is checked in order on decode; this carries the check across part boundaries. */
function checkPartOrder(id: BlobId, previous: Uint8Array | null, nodes: readonly Node[]): void {
  if (previous !== null && nodes.length > 0 && compareNames(previous, nodes[0]!.name) >= 0) {
    throw new VaultCorruptError(0, `tree ${Buffer.from(id).toString("hex").slice(0, 16)}… repeats or reorders names of the part before it`);
  }
}

/** Splits an absolute or relative path into raw name components ("" and "." dropped). */
export function pathComponents(path: Uint8Array): Uint8Array[] {
  const components: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i <= path.byteLength; i++) {
    if (i === path.byteLength || path[i] === 0x2f) {
      const part = path.subarray(start, i);
      if (part.byteLength > 0 && !(part.byteLength === 1 && part[0] === 0x2e)) components.push(part);
      start = i + 1;
    }
  }
  return components;
}

/** The node at path below a root directory's parts, or null. Root itself has no node. */
export async function lookupPath(store: BlobStore, root: readonly BlobId[], components: readonly Uint8Array[]): Promise<Node | null> {
  let parts: readonly BlobId[] = root;
  let found: Node | null = null;
  for (const name of components) {
    found = null;
    for await (const node of readTree(store, parts)) {
      if (Buffer.compare(node.name, name) === 0) {
        found = node;
        break;
      }
    }
    if (found === null) return null;
    parts = found.subtree ?? [];
  }
  return found;
}
