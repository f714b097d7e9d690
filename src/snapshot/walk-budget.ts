/**
 * Bounds a walk over one snapshot's trees by what the snapshot says it holds. Trees are content
 * addressed, so a crafted vault can reference one subtree many times at every level: a few kilobytes
 * of trees then stand for 2^depth directories, and ls -R, find, restore and check would run for ever.
 * A backup counts every directory and regular file it stores (stats.dirs, stats.files), so an honest
 * walk never meets more than that; one that does has met a crafted or damaged directory graph.
 */
import type { Node, Snapshot } from "../core/types.ts";
import { VaultCorruptError } from "../errors/errors.ts";

/** The synthetic root and the ancestors of each source path are stored but not counted by backup. */
const UNCOUNTED_DIRS_SLACK = 16;

export class TreeBudgetError extends VaultCorruptError {
  override name = "TreeBudgetError";
}

export class WalkBudget {
  private dirsLeft: number;
  private filesLeft: number;

  constructor(private readonly snapshot: Pick<Snapshot, "number" | "paths" | "stats">) {
    const ancestors = snapshot.paths.reduce((sum, path) => sum + path.split("/").filter((c) => c !== "").length, 0);
    this.dirsLeft = snapshot.stats.dirs + ancestors + UNCOUNTED_DIRS_SLACK;
    this.filesLeft = snapshot.stats.files;
  }

  /** Counts one entry met by the walk; throws TreeBudgetError once the snapshot's own counts are exceeded. */
  spend(node: Pick<Node, "type">): void {
    if (node.type === "dir" && --this.dirsLeft < 0) this.exceeded(`${this.snapshot.stats.dirs} directories`);
    if (node.type === "file" && --this.filesLeft < 0) this.exceeded(`${this.snapshot.stats.files} files`);
  }

  private exceeded(what: string): never {
    throw new TreeBudgetError(0, `snapshot ${this.snapshot.number} holds more than the ${what} it recorded (its trees share subtrees the way no backup makes them)`);
  }
}
