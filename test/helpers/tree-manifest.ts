// A byte-exact description of a directory tree (names as hex, type, mode, mtime µs, size, sha256, link
// target, hard-link group) that can be committed as JSON and compared later (golden-vault test, T19).
import { createHash } from "node:crypto";
import { lstat, readFile, readdir, readlink } from "node:fs/promises";

export interface ManifestEntry {
  /** Path below the root, raw bytes as hex, "/"-separated ("" is the root itself). */
  readonly path: string;
  readonly type: "dir" | "file" | "symlink" | "fifo" | "other";
  readonly mode: string;
  /** Modification time in whole microseconds (what restore keeps on every Linux filesystem). */
  readonly mtimeUs: string;
  readonly size?: number;
  readonly sha256?: string;
  /** Link target, raw bytes as hex. */
  readonly target?: string;
  /** Index of the first path (in this manifest's order) that shares this file's inode, if another does. */
  readonly linkOf?: number;
}

function typeOf(mode: bigint): ManifestEntry["type"] {
  const kind = mode & 0o170000n;
  if (kind === 0o040000n) return "dir";
  if (kind === 0o100000n) return "file";
  if (kind === 0o120000n) return "symlink";
  if (kind === 0o010000n) return "fifo";
  return "other";
}

/** Every entry under root, parents before children, siblings in byte order. */
export async function treeManifest(root: string): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  const firstByInode = new Map<bigint, number>();
  const visit = async (absolute: Buffer, relative: Buffer): Promise<void> => {
    const stat = await lstat(absolute, { bigint: true });
    const type = typeOf(stat.mode);
    const base = {
      path: relative.toString("hex"),
      type,
      mode: (stat.mode & 0o7777n).toString(8),
      mtimeUs: (stat.mtimeNs / 1000n).toString(),
    };
    if (type === "file") {
      const first = firstByInode.get(stat.ino);
      if (first === undefined) firstByInode.set(stat.ino, entries.length);
      const sha256 = createHash("sha256").update(await readFile(absolute)).digest("hex");
      entries.push({ ...base, size: Number(stat.size), sha256, ...(first === undefined ? {} : { linkOf: first }) });
    } else if (type === "symlink") {
      entries.push({ ...base, target: (await readlink(absolute, { encoding: "buffer" })).toString("hex") });
    } else {
      entries.push(base);
    }
    if (type !== "dir") return;
    const names = (await readdir(absolute, { encoding: "buffer" })).sort(Buffer.compare);
    for (const name of names) {
      const slash = Buffer.from("/");
      await visit(Buffer.concat([absolute, slash, name]), relative.length === 0 ? name : Buffer.concat([relative, slash, name]));
    }
  };
  await visit(Buffer.from(root), Buffer.alloc(0));
  return entries;
}
