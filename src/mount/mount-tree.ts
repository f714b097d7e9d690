/**
 * The mount's virtual layout over a vault, resolved path by path:
 *   /snapshots/<n>/<absolute source path>   each snapshot's files
 *   /latest -> snapshots/<newest>           (symlink)
 *   /by-time/<ISO time> -> ../snapshots/<n> (symlink)
 *   /tags/<tag>/<n> -> ../../snapshots/<n>  (symlink)
 * or, for a single snapshot, that snapshot's files directly at the root. Directory listings are
 * cached in a bounded LRU (snapshots never change); inode numbers are stable for the session and
 * hard links inside one snapshot share theirs.
 */
import type { SuedeVault } from "../api/suede-vault.ts";
import type { Node, Snapshot } from "../core/types.ts";
import { WeightedLru } from "./lru.ts";
import { shownNames } from "./names.ts";

/** A directory of the layout itself (root, snapshots/, by-time/, tags/, tags/<tag>/). */
export interface LayoutDir {
  readonly kind: "layout";
  readonly ino: number;
  readonly timeMs: number;
}

export interface LayoutLink {
  readonly kind: "link";
  readonly ino: number;
  readonly target: string;
  readonly timeMs: number;
}

/** The top directory of one snapshot (the source root "/"). */
export interface SnapshotRoot {
  readonly kind: "snapshot-root";
  readonly ino: number;
  readonly snapshot: Snapshot;
}

export interface SnapshotEntry {
  readonly kind: "node";
  readonly ino: number;
  readonly snapshot: number;
  /** Absolute path in the snapshot, raw bytes. */
  readonly path: Uint8Array;
  readonly node: Node;
}

export type MountEntry = LayoutDir | LayoutLink | SnapshotRoot | SnapshotEntry;

interface Listing {
  readonly names: readonly string[];
  readonly byName: ReadonlyMap<string, SnapshotEntry>;
}

/** Directory entries kept in memory at most (about 300 bytes each). */
const LISTING_CACHE_ENTRIES = 400_000;

export class MountTree {
  private snapshotList: readonly Snapshot[] = [];
  private loaded = false;
  private refreshing: Promise<void> | null = null;
  private readonly listings = new WeightedLru<Promise<Listing>>(LISTING_CACHE_ENTRIES);
  /** FUSE path → entry, filled by directory listings: `ls -l` asks for each name just listed. */
  private readonly resolved = new WeightedLru<SnapshotEntry>(LISTING_CACHE_ENTRIES);
  private listedNumbers = new Set<number>();
  private readonly inodes = new Map<string, number>();
  private nextIno = 2;
  private readonly startedMs: number;

  /** `only`: show this one snapshot at the root instead of the layout. */
  constructor(
    private readonly vault: SuedeVault,
    private readonly only: number | null,
    nowMs: number,
  ) {
    this.startedMs = nowMs;
  }

  /**
   * Re-reads the snapshot list when another process committed. Refreshes run one after another, and
   * each starts after its caller asked, so a listing never gets the answer of an older refresh.
   */
  async refresh(): Promise<void> {
    const previous = this.refreshing;
    const current: Promise<void> = (async () => {
      await previous?.catch(() => undefined);
      await this.vault.refresh();
      // Compare numbers rather than trust refresh()'s answer: a read racing a prune may already
      // have followed the new commit inside the vault.
      const numbers = this.vault.snapshotNumbers();
      const same = this.loaded && numbers.length === this.snapshotList.length && numbers.every((n, i) => n === this.snapshotList[i]!.number);
      if (!same) {
        this.snapshotList = await this.vault.listSnapshots();
        this.listedNumbers = new Set(this.snapshotList.map((snapshot) => snapshot.number));
        this.loaded = true;
      }
    })().finally(() => {
      if (this.refreshing === current) this.refreshing = null;
    });
    this.refreshing = current;
    return current;
  }

  private async snapshots(): Promise<readonly Snapshot[]> {
    if (!this.loaded) await this.refresh();
    return this.snapshotList;
  }

  /** The snapshot with this number; refreshes once on a miss, so a just-committed one is found. */
  private async snapshot(text: string): Promise<Snapshot | null> {
    if (!/^[1-9]\d{0,15}$/.test(text)) return null;
    const number = Number(text);
    const find = (list: readonly Snapshot[]) => list.find((s) => s.number === number) ?? null;
    const found = find(await this.snapshots());
    if (found !== null) return found;
    await this.refresh();
    return find(this.snapshotList);
  }

  private ino(key: string): number {
    let ino = this.inodes.get(key);
    if (ino === undefined) {
      ino = this.nextIno++;
      this.inodes.set(key, ino);
    }
    return ino;
  }

  private layoutTimeMs(): number {
    return this.snapshotList.at(-1)?.timeMs ?? this.startedMs;
  }

  private layoutDir(key: string): LayoutDir {
    return { kind: "layout", ino: key === "" ? 1 : this.ino(`layout:${key}`), timeMs: this.layoutTimeMs() };
  }

  private link(key: string, target: string, timeMs: number): LayoutLink {
    return { kind: "link", ino: this.ino(`layout:${key}`), target, timeMs };
  }

  private root(snapshot: Snapshot): SnapshotRoot {
    return { kind: "snapshot-root", ino: this.only !== null ? 1 : this.ino(`root:${snapshot.number}`), snapshot };
  }

  /** The entry at a FUSE path if a listing already resolved it (no waiting: the hot path of `ls -l`). */
  lookupCached(path: string): SnapshotEntry | undefined {
    const entry = this.resolved.get(path);
    return entry !== undefined && this.listedNumbers.has(entry.snapshot) ? entry : undefined;
  }

  /** The entry at a FUSE path ("/a/b"), or null when there is none. */
  async lookup(path: string): Promise<MountEntry | null> {
    const parts = path.split("/").filter((p) => p !== "");
    if (this.only !== null) {
      const snapshot = await this.snapshot(String(this.only));
      return snapshot === null ? null : this.inSnapshot(snapshot, parts);
    }
    if (parts.length === 0) return this.layoutDir("");
    const [top, second, third, ...rest] = parts as [string, string?, string?, ...string[]];
    const snapshots = await this.snapshots();
    switch (top) {
      case "snapshots": {
        if (second === undefined) return this.layoutDir("snapshots");
        const snapshot = await this.snapshot(second);
        return snapshot === null ? null : this.inSnapshot(snapshot, parts.slice(2));
      }
      case "latest": {
        const newest = snapshots.at(-1);
        if (newest === undefined || second !== undefined) return null;
        return this.link("latest", `snapshots/${newest.number}`, newest.timeMs);
      }
      case "by-time": {
        if (second === undefined) return this.layoutDir("by-time");
        const snapshot = byTime(snapshots).get(second);
        if (snapshot === undefined || third !== undefined) return null;
        return this.link(`by-time/${second}`, `../snapshots/${snapshot.number}`, snapshot.timeMs);
      }
      case "tags": {
        if (second === undefined) return this.layoutDir("tags");
        const tagged = snapshots.filter((s) => s.tags.includes(second));
        if (tagged.length === 0 || !isShownTag(second)) return null;
        if (third === undefined) return this.layoutDir(`tags/${second}`);
        const snapshot = tagged.find((s) => String(s.number) === third);
        if (snapshot === undefined || rest.length > 0) return null;
        return this.link(`tags/${second}/${third}`, `../../snapshots/${snapshot.number}`, snapshot.timeMs);
      }
      default:
        return null;
    }
  }

  /** The names in a directory of the mount, or null when the path is not a directory. */
  async readdir(path: string): Promise<readonly string[] | null> {
    const parts = path.split("/").filter((p) => p !== "");
    // Listing a layout directory picks up snapshots committed since (a backup running meanwhile).
    if (this.only === null && (parts.length <= 1 || (parts.length === 2 && parts[0] === "tags"))) await this.refresh();
    const entry = await this.lookup(path);
    if (entry === null) return null;
    switch (entry.kind) {
      case "link":
        return null;
      case "snapshot-root":
        return this.remember(path, await this.listing(entry.snapshot.number, Buffer.from("/")));
      case "node":
        return entry.node.type === "dir" ? this.remember(path, await this.listing(entry.snapshot, entry.path)) : null;
      case "layout": {
        const snapshots = this.snapshotList;
        if (parts.length === 0) return snapshots.length === 0 ? ["snapshots", "by-time", "tags"] : ["snapshots", "latest", "by-time", "tags"];
        if (parts[0] === "snapshots") return snapshots.map((s) => String(s.number));
        if (parts[0] === "by-time") return [...byTime(snapshots).keys()];
        if (parts.length === 1) return [...new Set(snapshots.flatMap((s) => s.tags))].filter(isShownTag).sort();
        return snapshots.filter((s) => s.tags.includes(parts[1]!)).map((s) => String(s.number));
      }
    }
  }

  private remember(dirPath: string, listing: Listing): readonly string[] {
    const prefix = dirPath.endsWith("/") ? dirPath : `${dirPath}/`;
    for (const [name, entry] of listing.byName) this.resolved.set(prefix + name, entry, 1);
    return listing.names;
  }

  private async inSnapshot(snapshot: Snapshot, parts: readonly string[]): Promise<MountEntry | null> {
    if (parts.length === 0) return this.root(snapshot);
    let dir: Uint8Array = Buffer.from("/");
    let entry: SnapshotEntry | undefined;
    for (const part of parts) {
      if (entry !== undefined) {
        if (entry.node.type !== "dir") return null;
        dir = entry.path;
      }
      entry = (await this.listing(snapshot.number, dir)).byName.get(part);
      if (entry === undefined) return null;
    }
    return entry ?? null;
  }

  private listing(snapshot: number, dir: Uint8Array): Promise<Listing> {
    const key = `${snapshot}:${Buffer.from(dir).toString("hex")}`;
    const cached = this.listings.get(key);
    if (cached !== undefined) return cached;
    const loading = this.loadListing(snapshot, dir);
    this.listings.set(key, loading, 1);
    loading.then(
      (listing) => {
        // Weigh by entries once known (the LRU keeps the newest even if it alone is over).
        if (this.listings.get(key) === loading) this.listings.set(key, loading, listing.names.length + 1);
      },
      () => this.listings.delete(key),
    );
    return loading;
  }

  private async loadListing(snapshot: number, dir: Uint8Array): Promise<Listing> {
    const entries: { path: Uint8Array; node: Node }[] = [];
    for await (const entry of this.vault.list(snapshot, { path: dir })) entries.push(entry);
    const names = shownNames(entries.map((e) => e.node.name));
    const byName = new Map<string, SnapshotEntry>();
    entries.forEach(({ path, node }, i) => {
      // Hard links (same source inode in one snapshot) share an inode number; others go by path.
      const key = node.type !== "dir" && node.nlink > 1 ? `link:${snapshot}:${node.device}:${node.inode}` : `path:${snapshot}:${Buffer.from(path).toString("hex")}`;
      byName.set(names[i]!, { kind: "node", ino: this.ino(key), snapshot, path, node });
    });
    return { names, byName };
  }
}

/** ISO time → snapshot; two snapshots in the same millisecond get "~<number>" on the later one. */
function byTime(snapshots: readonly Snapshot[]): Map<string, Snapshot> {
  const map = new Map<string, Snapshot>();
  for (const snapshot of snapshots) {
    const iso = new Date(snapshot.timeMs).toISOString();
    map.set(map.has(iso) ? `${iso}~${snapshot.number}` : iso, snapshot);
  }
  return map;
}

/** Tags that cannot be a directory name ("", ".", "..", containing "/") are left out of tags/. */
function isShownTag(tag: string): boolean {
  return tag !== "" && tag !== "." && tag !== ".." && !tag.includes("/") && !tag.includes("\0");
}
