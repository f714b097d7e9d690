/**
 * Moved and renamed directories: their files are new paths, but the same inodes with the same
 * size, mtime and ctime as in the parent snapshot (renaming a directory changes only the
 * directory's own ctime). This table, built from the parent snapshot the first time a new
 * directory appears, finds them so they are not read again. It holds one number pair per file and
 * directory (a hash of device and inode → where the node is), and reads tree parts back on demand.
 * A directory found by inode gives the walk its old entries, which are then compared as usual.
 */
import type { BlobId } from "../core/ids.ts";
import type { BlobStore, SourceStat } from "../core/ports.ts";
import type { Node } from "../core/types.ts";
import { readTreePart } from "../snapshot/tree-reader.ts";
import { TREE_PART_ENTRIES_MAX, TreePartScanner } from "../snapshot/tree-codec.ts";
import { assert } from "../util/assert.ts";

const PARTS_CACHED_MAX = 8;
/**
 * Tree part plaintexts kept for another reader up to this many bytes: the build's for the walk, which reads
 * most of them again right after (a moved directory's and every later directory's parts), and the walk's
 * before a table is asked for, for the build.
 */
const KEPT_PART_BYTES_MAX = 8 * 1024 * 1024;
/** Tree parts read at once while building (reads overlap; decoding stays on this thread). */
const BUILD_READS_MAX = 8;

function inodeKey(device: bigint, inode: bigint): number {
  return Number((inode * 1_000_003n + device) % 2n ** 52n);
}

/** Tree part plaintexts by ID, kept up to KEPT_PART_BYTES_MAX in all and each handed out once. */
export class KeptParts {
  private readonly parts = new Map<string, Uint8Array>();
  private bytes = 0;

  /** Keeps a part's plaintext; false (and not kept) once the bound is reached. */
  keep(id: BlobId, plaintext: Uint8Array): boolean {
    if (this.bytes + plaintext.byteLength > KEPT_PART_BYTES_MAX) return false;
    this.parts.set(Buffer.from(id).toString("hex"), plaintext);
    this.bytes += plaintext.byteLength;
    return true;
  }

  /** The part's plaintext, handed out once; undefined when not kept. */
  take(id: BlobId): Uint8Array | undefined {
    if (this.parts.size === 0) return undefined;
    const key = Buffer.from(id).toString("hex");
    const bytes = this.parts.get(key);
    if (bytes !== undefined) this.parts.delete(key);
    return bytes;
  }

  clear(): void {
    this.parts.clear();
  }
}

export class InodeTable {
  private readonly parts: BlobId[] = [];
  private readonly refs = new Map<number, number>();
  private readonly cache = new Map<number, Node[]>();
  /** Parts the build read, for the walk to take (takePart). */
  private readonly parked = new KeptParts();

  private constructor(private readonly store: BlobStore) {}

  /**
   * readBefore: parent tree parts the walk read before the table was asked for; the build takes them
   * (and empties it) instead of reading them again (cold: a pread, an open and a decompress each, on
   * this thread).
   */
  static async build(store: BlobStore, root: readonly BlobId[], signal?: AbortSignal, readBefore?: KeptParts): Promise<InodeTable> {
    const table = new InodeTable(store);
    const seen = new Set<string>();
    const queue: BlobId[] = [];
    const enqueue = (parts: readonly BlobId[]): void => {
      for (const part of parts) {
        const key = Buffer.from(part).toString("hex");
        if (seen.has(key)) continue;
        seen.add(key);
        queue.push(new Uint8Array(part)); // a copy: IDs read in place are views that would keep whole parts alive
      }
    };
    const reader = async (): Promise<void> => {
      for (let part = queue.pop(); part !== undefined && signal?.aborted !== true; part = queue.pop()) {
        // A part the walk read before has been had by it: not kept again.
        let bytes = readBefore?.take(part);
        if (bytes === undefined) {
          bytes = await store.getBlob(part);
          table.parked.keep(part, bytes);
        }
        const partIndex = table.parts.push(part) - 1;
        if (table.scanPart(bytes, partIndex, enqueue)) continue;
        // Not in the shape the scanner reads: decoding says what is wrong (or reads it after all).
        const nodes = await readTreePart(store, part);
        for (let i = 0; i < nodes.length; i++) {
          const node = nodes[i]!;
          const ref = partIndex * (TREE_PART_ENTRIES_MAX + 1) + i;
          if (node.type === "file" && node.chunks !== undefined && node.unreadable === undefined) {
            table.refs.set(inodeKey(node.device, node.inode), ref);
          } else if (node.type === "dir") {
            if (node.unreadable === undefined) table.refs.set(inodeKey(node.device, node.inode), ref);
            enqueue(node.subtree ?? []);
          }
        }
      }
    };
    enqueue(root);
    // Readers stop when the queue is empty; one finishing part may refill it, so loop until all are done.
    while (queue.length > 0 && signal?.aborted !== true) {
      await Promise.all(Array.from({ length: Math.min(BUILD_READS_MAX, queue.length) }, reader));
    }
    readBefore?.clear();
    return table;
  }

  /**
   * Indexes one part read in place (TreePartScanner): decoding every Node of the parent snapshot
   * cost a re-run with a moved directory more than the rest of its walk. False when it does not scan.
   */
  private scanPart(bytes: Uint8Array, partIndex: number, enqueue: (parts: readonly BlobId[]) => void): boolean {
    try {
      const part = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const entry = new TreePartScanner(bytes);
      for (let i = 0; entry.next(); i++) {
        const ref = partIndex * (TREE_PART_ENTRIES_MAX + 1) + i;
        const isFile = entry.type === "file" && entry.hasChunks;
        if ((isFile || entry.type === "dir") && !entry.hasUnreadable) {
          // lookup() checks device and inode on the decoded node, so a wrong key only misses.
          const device = BigInt(part.toString("latin1", entry.deviceStart, entry.deviceEnd));
          const inode = BigInt(part.toString("latin1", entry.inodeStart, entry.inodeEnd));
          this.refs.set(inodeKey(device, inode), ref);
        }
        if (entry.type === "dir") enqueue(entry.subtreeIds());
      }
      return true;
    } catch {
      return false;
    }
  }

  /** A tree part's plaintext as the build read it, handed out once; undefined when not kept. */
  takePart(id: BlobId): Uint8Array | undefined {
    return this.parked.take(id);
  }

  /** The parent snapshot's node for this inode when nothing about the file changed, else null. */
  async find(stat: SourceStat): Promise<Node | null> {
    const node = await this.lookup(stat);
    const same =
      node !== null &&
      node.type === "file" &&
      node.sizeBytes === stat.sizeBytes &&
      node.mtimeNs === stat.mtimeNs &&
      node.ctimeNs === stat.ctimeNs;
    return same ? node : null;
  }

  /** The parent snapshot's directory with this inode (moved or renamed since), else null. */
  async findDirectory(stat: SourceStat): Promise<Node | null> {
    const node = await this.lookup(stat);
    return node !== null && node.type === "dir" ? node : null;
  }

  private async lookup(stat: SourceStat): Promise<Node | null> {
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
    return node.device === stat.device && node.inode === stat.inode ? node : null;
  }
}
