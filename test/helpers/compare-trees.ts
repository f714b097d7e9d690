// Compares two directory trees entry by entry (bytes-as-names, lstat metadata, contents, hard links, holes), and via rsync's itemized dry run.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { BigIntStats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { nodeTypeFromMode } from "../../src/fs/node-source-fs.ts";
import { hasProgram, runTool } from "./cli.ts";

/** Raw path bytes as readable text: valid UTF-8 stays, other bytes and controls become \xNN escapes. */
export function showPath(path: Buffer): string {
  const text = path.toString("utf8");
  if (Buffer.from(text, "utf8").equals(path)) return JSON.stringify(text);
  let out = "";
  for (const byte of path) out += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`;
  return `"${out}"`;
}

function typeOf(mode: bigint): string {
  return nodeTypeFromMode(Number(mode)) ?? "unknown";
}

/** Nanoseconds → whole microseconds, rounding towards minus infinity (times before 1970 too). */
function micros(ns: bigint): bigint {
  const q = ns / 1000n;
  return ns % 1000n < 0n ? q - 1n : q;
}

/** sha256 of a file, streamed. */
export async function sha256File(path: Buffer | string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function join(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from("/"), name]);
}

function isSparse(stat: BigIntStats): boolean {
  return stat.blocks * 512n < stat.size / 2n;
}

/**
 * Every difference between the tree at source and the tree at restored (empty = identical): names
 * compared as bytes; type, mode & 0o7777, size, mtime to the microsecond (symlinks too), uid/gid
 * (as root, unless ignoreOwner), rdev, link targets, sha256 of contents, nlink, hard-link groups, and
 * holes (a sparse source file must be restored sparse).
 */
export async function compareTrees(source: string, restored: string, options: { ignoreOwner?: boolean } = {}): Promise<string[]> {
  const differences: string[] = [];
  const compareOwner = process.getuid?.() === 0 && options.ignoreOwner !== true;
  const sourceToRestored = new Map<bigint, bigint>();
  const restoredToSource = new Map<bigint, bigint>();

  const compareEntry = async (a: Buffer, b: Buffer, shown: string): Promise<void> => {
    let sa: BigIntStats;
    let sb: BigIntStats;
    try {
      [sa, sb] = await Promise.all([lstat(a, { bigint: true }), lstat(b, { bigint: true })]);
    } catch (error) {
      differences.push(`${shown}: lstat failed: ${(error as Error).message}`);
      return;
    }
    const type = typeOf(sa.mode);
    if (type !== typeOf(sb.mode)) {
      differences.push(`${shown}: type ${type} != ${typeOf(sb.mode)}`);
      return;
    }
    const differ = (what: string, x: unknown, y: unknown) => {
      if (x !== y) differences.push(`${shown}: ${what} ${String(x)} != ${String(y)}`);
    };
    differ("mode", `0o${(sa.mode & 0o7777n).toString(8)}`, `0o${(sb.mode & 0o7777n).toString(8)}`);
    differ("mtime µs", micros(sa.mtimeNs), micros(sb.mtimeNs));
    if (compareOwner) {
      differ("uid", sa.uid, sb.uid);
      differ("gid", sa.gid, sb.gid);
    }
    if (type !== "dir") {
      differ("size", sa.size, sb.size);
      differ("nlink", sa.nlink, sb.nlink);
    }
    if (type === "chardev" || type === "blockdev") differ("rdev", sa.rdev, sb.rdev);
    if (type === "symlink") {
      const [ta, tb] = await Promise.all([readlink(a, { encoding: "buffer" }), readlink(b, { encoding: "buffer" })]);
      if (!ta.equals(tb)) differences.push(`${shown}: link target ${showPath(ta)} != ${showPath(tb)}`);
    }
    if (type === "file") {
      const mappedB = sourceToRestored.get(sa.ino);
      const mappedA = restoredToSource.get(sb.ino);
      if (mappedB !== undefined && mappedB !== sb.ino) differences.push(`${shown}: hard link broken (source inode shared, restored inode not)`);
      if (mappedA !== undefined && mappedA !== sa.ino) differences.push(`${shown}: restored shares an inode with an unrelated file`);
      if (mappedB === undefined) sourceToRestored.set(sa.ino, sb.ino);
      if (mappedA === undefined) restoredToSource.set(sb.ino, sa.ino);
      if (mappedB === undefined && sa.size === sb.size) {
        try {
          const [ha, hb] = await Promise.all([sha256File(a), sha256File(b)]);
          if (ha !== hb) differences.push(`${shown}: contents differ`);
        } catch (error) {
          differences.push(`${shown}: cannot read: ${(error as Error).message}`);
        }
      }
      if (isSparse(sa) && !isSparse(sb)) {
        differences.push(`${shown}: source is sparse (${sa.blocks * 512n} of ${sa.size} bytes allocated), restored is not (${sb.blocks * 512n})`);
      }
    }
    if (type === "dir") await compareDirectory(a, b, shown);
  };

  const compareDirectory = async (a: Buffer, b: Buffer, shown: string): Promise<void> => {
    let na: Buffer[];
    let nb: Buffer[];
    try {
      [na, nb] = await Promise.all([readdir(a, { encoding: "buffer" }), readdir(b, { encoding: "buffer" })]);
    } catch (error) {
      differences.push(`${shown}: readdir failed: ${(error as Error).message}`);
      return;
    }
    const inB = new Set(nb.map((n) => n.toString("latin1")));
    const inA = new Set(na.map((n) => n.toString("latin1")));
    for (const name of na.sort(Buffer.compare)) {
      const childShown = `${shown === "." ? "" : `${shown}/`}${showPath(name)}`;
      if (!inB.has(name.toString("latin1"))) {
        differences.push(`${childShown}: only in source`);
        continue;
      }
      await compareEntry(join(a, name), join(b, name), childShown);
    }
    for (const name of nb.sort(Buffer.compare)) {
      if (!inA.has(name.toString("latin1"))) differences.push(`${shown === "." ? "" : `${shown}/`}${showPath(name)}: only in restored`);
    }
  };

  await compareEntry(Buffer.from(source), Buffer.from(restored), ".");
  return differences;
}

/** Whether rsync is installed (CI installs it; locally it may be missing). */
export function hasRsync(): Promise<boolean> {
  return hasProgram("rsync");
}

/**
 * rsync's itemized list of what it would change to make restored equal source (empty = identical),
 * comparing contents by checksum and keeping hard links; "" when rsync is not installed.
 */
export async function rsyncDiff(source: string, restored: string): Promise<string> {
  if (!(await hasRsync())) return "";
  const args = ["-a", "--dry-run", "--itemize-changes", "--checksum", "--hard-links", `${source}/`, `${restored}/`];
  return (await runTool("rsync", args)).trim();
}

/** Every path under root (root excluded), as raw bytes, parents before children, not following symlinks. */
export async function walkPaths(root: string): Promise<Buffer[]> {
  const found: Buffer[] = [];
  const walk = async (dir: Buffer): Promise<void> => {
    for (const name of (await readdir(dir, { encoding: "buffer" })).sort(Buffer.compare)) {
      const child = join(dir, name);
      found.push(child);
      if ((await lstat(child)).isDirectory()) await walk(child);
    }
  };
  await walk(Buffer.from(root));
  return found;
}
