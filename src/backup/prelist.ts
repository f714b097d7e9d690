/**
 * Lists the source tree on the main thread while the vault unlocks (issue 5): the main thread only
 * waits for Argon2id (about half a second, off-thread), and the listing is work the walk would do after
 * it. Argon2id's four lanes use both cores of an idle 2-core machine (0.50 s wall for 0.92 CPU-s at
 * the bench's t = 40), so the two compete there, yet the usr no-change re-run still fell from 1.72 to
 * 1.62 s with a KDF of twice the work. The walk then takes these listings instead of asking a worker to readdir and lstat, and compares
 * them with the parent snapshot itself (FilePool.listDirectory). A listing is at most as old as the unlock,
 * which a backup (never a point-in-time copy) allows: files are still read and checked as usual.
 */
import { listDirectorySync } from "../fs/node-source-fs.ts";
import { joinPath } from "../fs/join.ts";
import { type PackedListing, packListing } from "./listing-codec.ts";

/** Entries held at most (~120 bytes each packed): a bound on memory for huge trees. */
const PRELIST_ENTRIES_MAX = 50_000;
/** One slice of listing on the main thread: the unlock's completion waits at most this long. */
const SLICE_MS = 4;

export class Prelister {
  private readonly listings = new Map<string, PackedListing>();
  /** Directories still to list, the next on top (depth-first in name order, as the walk goes). */
  private readonly stack: Buffer[] = [];
  private entries = 0;
  private stopped = false;
  /** Directories listed ahead, and how many of those listings the walk took (SUEDE_DEBUG reports both). */
  listed = 0;
  taken = 0;

  /**
   * sources: absolute paths as the backup will name them. With oneFileSystem nothing is listed
   * ahead (a rare option, and which directories it crosses into is the walk's decision).
   */
  constructor(sources: readonly Buffer[], oneFileSystem: boolean) {
    if (oneFileSystem) return;
    for (let i = sources.length - 1; i >= 0; i--) this.stack.push(sources[i]!);
    setImmediate(() => this.slice());
  }

  /** No more listing (the walk has started and lists on its workers); what was listed stays to take. */
  stop(): void {
    this.stopped = true;
  }

  /** Listings made and not yet taken. */
  get held(): number {
    return this.listings.size;
  }

  /** The listing of path, if it was made; each is handed out once. */
  take(path: Buffer): PackedListing | null {
    const key = path.toString("latin1");
    const listing = this.listings.get(key);
    if (listing === undefined) return null;
    this.listings.delete(key);
    this.taken++;
    return listing;
  }

  private slice(): void {
    const started = performance.now();
    while (!this.stopped && this.stack.length > 0 && this.entries < PRELIST_ENTRIES_MAX && performance.now() - started < SLICE_MS) {
      const path = this.stack.pop()!;
      let listing: ReturnType<typeof listDirectorySync>;
      try {
        listing = listDirectorySync(path);
      } catch {
        continue; // not a directory, or unreadable: the walk finds out and reports it itself
      }
      this.listings.set(path.toString("latin1"), packListing(listing));
      this.listed++;
      this.entries += listing.names.length;
      for (let i = listing.names.length - 1; i >= 0; i--) {
        const stat = listing.stats[i]!;
        if ("type" in stat && stat.type === "dir") this.stack.push(joinPath(path, listing.names[i]!));
      }
    }
    if (!this.stopped && this.stack.length > 0 && this.entries < PRELIST_ENTRIES_MAX) setImmediate(() => this.slice());
  }
}
