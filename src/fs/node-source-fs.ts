/**
 * SourceFs over node:fs/promises. Paths and names stay raw bytes (Buffer) end to end, so names that
 * are not valid UTF-8 survive a backup. OS errors are passed through unchanged (NodeJS.ErrnoException
 * with its code) so backup can tell a vanished entry (ENOENT) from an unreadable one (EACCES).
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { constants, lstat, readlink, stat } from "node:fs/promises";
import type { BigIntStats } from "node:fs";
import type { SourceFs, SourceStat } from "../core/ports.ts";
import type { NodeType } from "../core/types.ts";
import { SuedeError } from "../errors/errors.ts";
import { joinPath } from "./join.ts";

/** The NodeType for the S_IFMT bits of a mode, or null for a type suede does not know. */
export function nodeTypeFromMode(mode: number): NodeType | null {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFREG:
      return "file";
    case constants.S_IFDIR:
      return "dir";
    case constants.S_IFLNK:
      return "symlink";
    case constants.S_IFIFO:
      return "fifo";
    case constants.S_IFSOCK:
      return "socket";
    case constants.S_IFCHR:
      return "chardev";
    case constants.S_IFBLK:
      return "blockdev";
    default:
      return null;
  }
}

/** Maps a bigint lstat result to SourceStat; an unknown file type is SOURCE_UNREADABLE. */
export function statToSourceStat(s: BigIntStats): SourceStat {
  const mode = Number(s.mode);
  const type = nodeTypeFromMode(mode);
  if (type === null) {
    throw new SuedeError("SOURCE_UNREADABLE", `unsupported file type (mode 0o${mode.toString(8)})`);
  }
  return {
    type,
    mode: mode & 0o7777,
    uid: Number(s.uid),
    gid: Number(s.gid),
    sizeBytes: Number(s.size),
    mtimeNs: s.mtimeNs,
    ctimeNs: s.ctimeNs,
    inode: s.ino,
    device: s.dev,
    rdev: s.rdev,
    nlink: Number(s.nlink),
    blocks: Number(s.blocks),
  };
}

/** Why one entry of a listing could not be lstat-ed. */
export interface EntryError {
  readonly code: string;
  readonly message: string;
}

export function entryError(error: unknown): EntryError {
  return { code: (error as NodeJS.ErrnoException).code ?? "EIO", message: error instanceof Error ? error.message : String(error) };
}

/**
 * A directory's entries in byte order with the lstat of each (or why it failed); throws when the
 * directory cannot be read. Synchronous: backup's file workers list directories (a thread that does
 * nothing else), where sync calls cost a third of promises when metadata is cached.
 */
export function listDirectorySync(dir: Buffer): { names: Buffer[]; stats: (SourceStat | EntryError)[] } {
  const names = readdirSync(dir, { encoding: "buffer" }).sort(Buffer.compare);
  const stats = names.map((name) => {
    try {
      return statToSourceStat(lstatSync(joinPath(dir, name), { bigint: true }));
    } catch (error) {
      return entryError(error);
    }
  });
  return { names, stats };
}

export class NodeSourceFs implements SourceFs {
  private users: Map<number, string> | null = null;
  private groups: Map<number, string> | null = null;

  /** The account files; tests point them elsewhere. */
  constructor(
    private readonly passwdPath: string = "/etc/passwd",
    private readonly groupPath: string = "/etc/group",
  ) {}

  async lstat(path: Buffer): Promise<SourceStat> {
    return statToSourceStat(await lstat(path, { bigint: true }));
  }

  async stat(path: Buffer): Promise<SourceStat> {
    return statToSourceStat(await stat(path, { bigint: true }));
  }

  async readlink(path: Buffer): Promise<Buffer> {
    return readlink(path, { encoding: "buffer" });
  }

  /** The user name for uid from /etc/passwd (read once per instance); "" when unknown or unreadable. */
  userName(uid: number): string {
    this.users ??= readIdFile(this.passwdPath);
    return this.users.get(uid) ?? "";
  }

  /** The group name for gid from /etc/group (read once per instance); "" when unknown or unreadable. */
  groupName(gid: number): string {
    this.groups ??= readIdFile(this.groupPath);
    return this.groups.get(gid) ?? "";
  }
}

/**
 * Parses /etc/passwd or /etc/group: `name:password:id:...` per line. The first line for an ID wins
 * (as getpwuid does). Comments, blank and malformed lines are skipped; an unreadable file is empty.
 */
export function parseIdFile(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(":");
    const name = fields[0];
    const id = fields[2];
    if (name === undefined || name === "" || id === undefined || !/^\d+$/.test(id)) continue;
    const number = Number(id);
    if (!names.has(number)) names.set(number, name);
  }
  return names;
}

function readIdFile(path: string): Map<number, string> {
  try {
    return parseIdFile(readFileSync(path, "utf8"));
  } catch {
    return new Map();
  }
}
