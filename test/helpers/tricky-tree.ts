// Builds a seeded directory tree full of edge cases (sizes, names, links, holes, modes, times, specials) and mutates it reproducibly.
import { execFile } from "node:child_process";
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, open, readdir, rename, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { Prng, wordText } from "./prng.ts";

const run = promisify(execFile);

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The file name that is not valid UTF-8 (in names/). */
export const NON_UTF8_NAME = Buffer.from([0x66, 0xff, 0xfe]);
/** A directory whose name is not valid UTF-8 (in names/), holding one file. */
export const NON_UTF8_DIR = Buffer.from([0x64, 0x69, 0x72, 0x2d, 0xc3, 0x28]);
/** A 255-byte name made of 127 two-byte "é" and one "x". */
export const LONG_NAME = `${"é".repeat(127)}x`;

/** Paths (relative to the root) that mutateTree touches. */
export const MUTATION = {
  appended: "files/s16385",
  overwritten: "files/random-3m",
  deletedFile: "files/s65536",
  deletedDir: "misc/inner",
  renamedFrom: "deep/l1/l2",
  renamedTo: "deep/l1/l2-renamed",
  added: ["new/fresh-1.bin", "new/fresh-2.txt", "files/added.txt"],
} as const;

/** Sizes of the plain files in files/ (name → bytes). */
export const FILE_SIZES: Readonly<Record<string, number>> = {
  empty: 0,
  one: 1,
  s16383: 16383,
  s16384: 16384,
  s16385: 16385,
  s65536: 65536,
  s262143: 262143,
  s262144: 262144,
  s262145: 262145,
};

/** seconds.micros as separate integers → the argument Node's utimes family restores exactly. */
function timeArgument(micros: bigint): number | string {
  // libuv truncates to whole microseconds; aim half a microsecond towards where it truncates from.
  let seconds = micros / 1_000_000n;
  let rest = micros % 1_000_000n;
  if (rest < 0n) {
    seconds -= 1n;
    rest += 1_000_000n;
  }
  const value = Number(seconds) + (Number(rest) + (seconds < 0n ? -0.5 : 0.5)) / 1e6;
  // Node 20 replaces a negative number with "now" but passes a numeric string through.
  return value < 0 ? String(value) : value;
}

async function setMtime(path: string | Buffer, micros: bigint): Promise<void> {
  const time = timeArgument(micros);
  await lutimes(path, time, time);
}

/** A time between 2001 and 2033 with a random microsecond part. */
function randomMicros(prng: Prng): bigint {
  return BigInt(1_000_000_000 + prng.below(1_000_000_000)) * 1_000_000n + BigInt(prng.below(1_000_000));
}

async function writeSparse(path: string, size: number, blocks: readonly number[], prng: Prng): Promise<void> {
  const handle = await open(path, "w", 0o644);
  try {
    await handle.truncate(size);
    for (const offset of blocks) await handle.write(prng.bytes(4 * KiB), 0, 4 * KiB, offset);
  } finally {
    await handle.close();
  }
}

/** Leaves a socket file at path (Node unlinks a server's own path on close, so bind a temporary name and hard-link it). */
async function makeSocket(path: string): Promise<void> {
  const temporary = join(dirname(path), `.s${process.pid}`);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(temporary, () => resolve());
  });
  try {
    await link(temporary, path);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(temporary, { force: true });
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Every directory under root (root included), deepest first, as raw byte paths. */
async function directoriesDeepestFirst(root: string): Promise<Buffer[]> {
  const found: { path: Buffer; depth: number }[] = [];
  const walk = async (dir: Buffer, depth: number): Promise<void> => {
    found.push({ path: dir, depth });
    for (const name of await readdir(dir, { encoding: "buffer" })) {
      const child = Buffer.concat([dir, Buffer.from("/"), name]);
      if ((await lstat(child)).isDirectory()) await walk(child, depth + 1);
    }
  };
  await walk(Buffer.from(root), 0);
  return found.sort((a, b) => b.depth - a.depth).map((d) => d.path);
}

/** Gives every directory under root a seeded mtime, children before parents (creating entries moves it). */
async function setDirectoryTimes(root: string, prng: Prng): Promise<void> {
  for (const dir of await directoriesDeepestFirst(root)) await setMtime(dir, randomMicros(prng));
}

/**
 * Creates the tricky tree under root (created if missing). The same seed gives the same names,
 * contents, modes and times. big adds a 4.5 GiB sparse file (slow to back up: tens of seconds).
 */
export async function makeTrickyTree(root: string, options: { seed: number; big?: boolean }): Promise<void> {
  const prng = new Prng(options.seed);
  const p = (...parts: string[]) => join(root, ...parts);
  await mkdir(root, { recursive: true });
  const fileTimes: [string | Buffer, bigint][] = [];
  const linkTimes: [string | Buffer, bigint][] = [];

  // Sizes around the chunker's bounds (16 KiB min, 64 KiB average, 256 KiB max), random, and text.
  await mkdir(p("files"));
  for (const [name, size] of Object.entries(FILE_SIZES)) {
    await writeFile(p("files", name), prng.bytes(size));
    fileTimes.push([p("files", name), randomMicros(prng)]);
  }
  await writeFile(p("files", "random-3m"), prng.bytes(3 * MiB + 12345));
  await writeFile(p("files", "words.txt"), wordText(prng, MiB + 777));
  fileTimes.push([p("files", "random-3m"), randomMicros(prng)], [p("files", "words.txt"), randomMicros(prng)]);

  // Nesting six levels deep, and empty directories.
  const deep = p("deep", "l1", "l2", "l3", "l4", "l5", "l6");
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, "leaf.txt"), "at the bottom\n");
  await writeFile(p("deep", "l1", "l2", "mid.bin"), prng.bytes(5000));
  await mkdir(p("empty-a"));
  await mkdir(p("deep", "l1", "empty-b"));
  await mkdir(p("deep", "l1", "l2", "l3", "empty-c"));

  // A directory for mutateTree to delete.
  await mkdir(p("misc", "inner"), { recursive: true });
  await writeFile(p("misc", "a.txt"), wordText(prng, 3000));
  await writeFile(p("misc", "inner", "b.bin"), prng.bytes(70000));
  await writeFile(p("misc", "inner", "c.txt"), "inner text\n");

  // Symbolic links of every awkward kind.
  await mkdir(p("links"));
  await symlink("../files/one", p("links", "relative"));
  await symlink(p("files", "one"), p("links", "absolute"));
  await symlink("../does/not/exist", p("links", "dangling"));
  await symlink("../deep", p("links", "to-dir"));
  await symlink("loop-b", p("links", "loop-a"));
  await symlink("loop-a", p("links", "loop-b"));
  await symlink(Buffer.from([0x2e, 0x2e, 0x2f, 0xff, 0x0a, 0x20]), p("links", "binary-target"));
  for (const name of ["relative", "absolute", "dangling", "to-dir", "loop-a", "loop-b", "binary-target"]) {
    linkTimes.push([p("links", name), randomMicros(prng)]);
  }

  // One file under three names.
  await mkdir(p("hardlinks", "sub"), { recursive: true });
  await writeFile(p("hardlinks", "h1"), prng.bytes(40000));
  await link(p("hardlinks", "h1"), p("hardlinks", "h2"));
  await link(p("hardlinks", "h1"), p("hardlinks", "sub", "h3"));
  fileTimes.push([p("hardlinks", "h1"), randomMicros(prng)]);

  // Holes: 64 MiB with data at 0, 10 MiB and the end; optionally a file over 4 GiB.
  await mkdir(p("sparse"));
  await writeSparse(p("sparse", "holes-64m"), 64 * MiB, [0, 10 * MiB, 64 * MiB - 4 * KiB], prng);
  fileTimes.push([p("sparse", "holes-64m"), randomMicros(prng)]);
  if (options.big === true) {
    const size = 4 * GiB + GiB / 2;
    await writeSparse(p("sparse", "huge-4g5"), size, [0, 2 * GiB, 4 * GiB + 12288, size - 4 * KiB], prng);
    fileTimes.push([p("sparse", "huge-4g5"), randomMicros(prng)]);
  }
  // A trailing hole (size past the last data).
  await writeSparse(p("sparse", "tail-hole"), 8 * MiB, [0], prng);
  await truncate(p("sparse", "tail-hole"), 9 * MiB);
  fileTimes.push([p("sparse", "tail-hole"), randomMicros(prng)]);

  // Names that are not plain ASCII words.
  await mkdir(p("names"));
  const names = Buffer.from(p("names"));
  const under = (name: Buffer | string) => Buffer.concat([names, Buffer.from("/"), Buffer.isBuffer(name) ? name : Buffer.from(name, "utf8")]);
  const odd: (Buffer | string)[] = [
    NON_UTF8_NAME,
    "new\nline",
    "tab\there",
    "back\\slash",
    "-leading-dash",
    LONG_NAME,
    "\u00e9", // NFC é
    "e\u0301", // NFD é
    "trailing space ",
    " leading space",
    "quote\"s'and*glob?[x]",
    "emoji-\u{1f600}",
  ];
  for (const name of odd) {
    await writeFile(under(name), Buffer.concat([Buffer.from("name: "), Buffer.isBuffer(name) ? name : Buffer.from(name), prng.bytes(prng.below(300))]));
    fileTimes.push([under(name), randomMicros(prng)]);
  }
  await mkdir(under(NON_UTF8_DIR));
  await writeFile(Buffer.concat([under(NON_UTF8_DIR), Buffer.from("/inside")]), "inside a non-UTF-8 directory\n");

  // Permission bits, including setuid, setgid, sticky and none at all.
  await mkdir(p("perms", "sticky"), { recursive: true });
  await mkdir(p("perms", "setgid-dir"));
  await writeFile(p("perms", "sticky", "in-sticky"), "sticky\n");
  const modes: [string, number][] = [
    ["p600", 0o600],
    ["p755", 0o755],
    ["setuid", 0o4755],
    ["setgid", 0o2755],
    ["p640", 0o640],
  ];
  // Mode 000: only root can still read it (and back it up).
  if (isRoot()) modes.push(["p000", 0o000]);
  for (const [name] of modes) await writeFile(p("perms", name), `${name}\n`);
  if (isRoot()) {
    await writeFile(p("perms", "owned-1234"), "owned by someone else\n");
    await chown(p("perms", "owned-1234"), 1234, 5678);
    await chmod(p("perms", "owned-1234"), 0o640);
    fileTimes.push([p("perms", "owned-1234"), randomMicros(prng)]);
    await symlink("owned-1234", p("perms", "owned-link"));
    await lchown(p("perms", "owned-link"), 4321, 8765);
    linkTimes.push([p("perms", "owned-link"), randomMicros(prng)]);
  }
  for (const [name, mode] of modes) {
    await chmod(p("perms", name), mode);
    fileTimes.push([p("perms", name), randomMicros(prng)]);
  }
  await chmod(p("perms", "sticky"), 0o1777);
  await chmod(p("perms", "setgid-dir"), 0o2775);

  // Times: microseconds, before 1970, the epoch itself.
  await mkdir(p("times"));
  await writeFile(p("times", "micro"), "1600000000.123456\n");
  await writeFile(p("times", "before-1970"), "1966\n");
  await writeFile(p("times", "epoch"), "0\n");
  fileTimes.push([p("times", "micro"), 1_600_000_000_123_456n], [p("times", "before-1970"), -123_456_789_654_321n], [p("times", "epoch"), 0n]);
  await symlink("micro", p("times", "old-link"));
  linkTimes.push([p("times", "old-link"), -1_000_000_000_000_001n]);

  // Special files.
  await mkdir(p("special"));
  await run("mkfifo", [p("special", "fifo-\u00fc")]);
  fileTimes.push([p("special", "fifo-\u00fc"), randomMicros(prng)]);
  if (isRoot()) {
    await run("mknod", [p("special", "null-dev"), "c", "1", "3"]);
    await chmod(p("special", "null-dev"), 0o640);
    fileTimes.push([p("special", "null-dev"), randomMicros(prng)]);
  }

  // A FIFO inside the non-UTF-8 directory (tools take string paths: make it elsewhere, rename by bytes).
  await run("mkfifo", [p("names", "fifo-tmp")]);
  const oddFifo = Buffer.concat([under(NON_UTF8_DIR), Buffer.from("/fifo-"), NON_UTF8_NAME]);
  await rename(p("names", "fifo-tmp"), oddFifo);
  fileTimes.push([oddFifo, randomMicros(prng)]);
  // Unix sockets: one short path, one whose restored path is too long for sun_path.
  await makeSocket(p("special", "sock"));
  await makeSocket(join(deep, "socket-with-a-rather-long-name-to-pass-the-sun-path-limit.sock"));
  fileTimes.push([p("special", "sock"), randomMicros(prng)]);

  for (const [path, micros] of fileTimes) await setMtime(path, micros);
  for (const [path, micros] of linkTimes) await setMtime(path, micros);
  await setDirectoryTimes(root, prng);
}

/**
 * Edits the tree the way a week of work would: appends to a file, overwrites the middle of another,
 * deletes a file and a directory, renames a directory and adds files (see MUTATION).
 */
export async function mutateTree(root: string, seed: number): Promise<void> {
  const prng = new Prng(seed ^ 0x5eed);
  const p = (relative: string) => join(root, relative);
  const appended = await open(p(MUTATION.appended), "a");
  try {
    await appended.write(prng.bytes(10000));
  } finally {
    await appended.close();
  }
  const overwritten = await open(p(MUTATION.overwritten), "r+");
  try {
    await overwritten.write(prng.bytes(4096), 0, 4096, 1536 * KiB);
  } finally {
    await overwritten.close();
  }
  await rm(p(MUTATION.deletedFile));
  await rm(p(MUTATION.deletedDir), { recursive: true });
  await rename(p(MUTATION.renamedFrom), p(MUTATION.renamedTo));
  await mkdir(p("new"));
  await writeFile(p(MUTATION.added[0]), prng.bytes(100 * KiB));
  await writeFile(p(MUTATION.added[1]), wordText(prng, 20 * KiB));
  await writeFile(p(MUTATION.added[2]), "added after the first snapshot\n");
}
