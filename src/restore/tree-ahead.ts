/**
 * Restore's reads of directory trees, asked for ahead: when the walk decodes a directory, the trees
 * of its subdirectories are asked for at once, so descending into one does not wait a vault read
 * per directory, and the vault reads them with the files of the same turn as longer runs (issue 5:
 * a directory of ~8 files cost one round trip). At most TREES_AHEAD_MAX parts wait unread.
 */
import type { BlobId } from "../core/ids.ts";
import type { BlobStore } from "../core/ports.ts";
import type { Node } from "../core/types.ts";

/** Tree parts asked for and not yet used: a part is at most a few hundred KiB, most are far smaller. */
const TREES_AHEAD_MAX = 256;

export class TreeAhead implements Pick<BlobStore, "getBlob"> {
  /** Keyed by the ID object itself: the walk reads a subtree through the same node.subtree array. */
  private readonly ahead = new Map<BlobId, Promise<Uint8Array>>();

  constructor(private readonly store: Pick<BlobStore, "getBlob">) {}

  getBlob(id: BlobId): Promise<Uint8Array> {
    const pending = this.ahead.get(id);
    if (pending === undefined) return this.store.getBlob(id);
    this.ahead.delete(id);
    return pending;
  }

  /** Asks for the trees of the directories among nodes (while there is room). */
  readAhead(nodes: readonly Node[]): void {
    for (const node of nodes) {
      if (node.type !== "dir" || node.subtree === undefined) continue;
      for (const id of node.subtree) {
        if (this.ahead.size >= TREES_AHEAD_MAX) return;
        const pending = this.store.getBlob(id);
        // A failure shows when the walk reads the tree, as if it had asked then.
        pending.catch(() => undefined);
        this.ahead.set(id, pending);
      }
    }
  }

  /** Forgets what was asked for a directory the walk will not read (it failed or was left out). */
  forget(parts: readonly BlobId[]): void {
    for (const id of parts) this.ahead.delete(id);
  }
}
