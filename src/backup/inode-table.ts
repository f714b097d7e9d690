/**
 * Moved and renamed directories: their files are new paths, but the same inodes with the same
 * size, mtime and ctime as in the parent snapshot (renaming a directory changes only the
 * directory's own ctime). This table, built from the parent snapshot the first time a new
 * directory appears, finds them so they are not read again. It holds one number pair per file
 * (a hash of device and inode → where the node is), and reads tree parts back on demand.
 */
import type { BlobId } from "../core/ids.ts";
import type { BlobStore, SourceStat } from "../core/ports.ts";
import type { Node } from "../core/types.ts";
import { readTreePart } from "../snapshot/tree-reader.ts";
import { TREE_PART_ENTRIES_MAX } from "../snapshot/tree-codec.ts";
import { assert } from "../util/assert.ts";

const PARTS_CACHED_MAX = 8;

function inodeKey(device: bigint, inode: bigint): number {
  return Number((inode * 1_000_003n + device) % 2n ** 52n);
}

export class InodeTable {
  private readonly parts: BlobId[] = [];
  private readonly refs = new Map<number, number>();
  private readonly cache = new Map<number, Node[]>();

  private constructor(private readonly store: BlobStore) {}

  static async build(store: BlobStore, root: readonly BlobId[], signal?: AbortSignal): Promise<InodeTable> {
    const table = new InodeTable(store);
    const seen = new Set<string>();
    const visit = async (parts: readonly BlobId[]): Promise<void> => {
      for (const part of parts) {
        const key = Buffer.from(part).toString("hex");
        if (seen.has(key)) continue;
        seen.add(key);
        if (signal?.aborted === true) return;
        const nodes = await readTreePart(store, part);
        const partIndex = table.parts.push(part) - 1;
        for (let i = 0; i < nodes.length; i++) {
          const node = nodes[i]!;
          if (node.type === "file" && node.chunks !== undefined && node.unreadable === undefined) {
            table.refs.set(inodeKey(node.device, node.inode), partIndex * (TREE_PART_ENTRIES_MAX + 1) + i);
          } else if (node.type === "dir") {
            await visit(node.subtree ?? []);
          }
        }
      }
    };
    await visit(root);
    return table;
  }

  /** The parent snapshot's node for this inode when nothing about the file changed, else null. */
  async find(stat: SourceStat): Promise<Node | null> {
    const ref = this.refs.get(inodeKey(stat.device, stat.inode));
    if (ref === undefined) return null;
    const partIndex = Math.floor(ref / (TREE_PART_ENTRIES_MAX + 1));
    const entry = ref % (TREE_PART_ENTRIES_MAX + 1);
    let nodes = this.cache.get(partIndex);
    if (nodes === undefined) {
      nodes = await readTreePart(this.store, this.parts[partIndex]!);
      if (this.cache.size >= PARTS_CACHED_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(partIndex, nodes);
    }
    const node = nodes[entry];
    assert(node !== undefined, "inode table points past a tree part");
    const same =
      node.device === stat.device &&
      node.inode === stat.inode &&
      node.sizeBytes === stat.sizeBytes &&
      node.mtimeNs === stat.mtimeNs &&
      node.ctimeNs === stat.ctimeNs;
    return same ? node : null;
  }
}
