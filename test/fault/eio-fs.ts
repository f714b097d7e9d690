// A FUSE passthrough file system for fault tests that answers chosen reads, writes and fsyncs with EIO,
// the way a failing disk does. It mirrors a backing directory at a mount point and runs in its OWN
// child process (a process must never read a FUSE mount it serves: the request would wait for
// itself). The test drives it over stdin with one JSON rule per line and gets "ok" back:
//   {"failWrites": {"path": "/v.vault", "afterBytes": 65536}}  writes past that many more bytes fail
//   {"failFsync": {"path": "/v.vault", "after": 1}}            the fsyncs after the next `after` fail
//   {"failReads": {"path": "/src/b.bin", "afterBytes": 0}}      reads past that many more bytes fail
//   {"badRange": {"path": "/v.vault", "offset": 1000, "lengthBytes": 512}}  reads touching it fail
//   {"clear": true}                                             the disk is healthy again
//   {"stats": true}                                             answers bytes read and written and fsyncs per path
// A path rule covers the path and everything below it; once tripped a rule stays tripped until clear.
// startEioFs() starts and mounts it; stop() unmounts it and waits for the child.
import { type ChildProcess, spawn } from "node:child_process";
import { constants, existsSync, mkdirSync } from "node:fs";
import fs from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { loadFuse } from "../../src/mount/fuse-native.ts";
import { fusermountUnmount, isMounted } from "../../src/mount/mount.ts";

const EIO = -5;

/** Why EIO tests cannot run here (false: they run). */
export const SKIP_EIO_FS: string | false = existsSync("/dev/fuse") ? false : "/dev/fuse is missing (install libfuse2 and fuse3, load the fuse module)";

export type EioRule =
  | { readonly failWrites: { readonly path: string; readonly afterBytes: number } }
  | { readonly failFsync: { readonly path: string; readonly after: number } }
  | { readonly failReads: { readonly path: string; readonly afterBytes: number } }
  | { readonly badRange: { readonly path: string; readonly offset: number; readonly lengthBytes: number } }
  | { readonly clear: true };

export interface EioStats {
  readonly readBytes: Record<string, number>;
  readonly writtenBytes: Record<string, number>;
  readonly fsyncs: Record<string, number>;
  /** How many requests were answered with EIO since the last clear. */
  readonly failed: number;
}

export interface EioFs {
  readonly mountpoint: string;
  set(rule: EioRule): Promise<void>;
  stats(): Promise<EioStats>;
  stop(): Promise<void>;
}

/** Starts the file system over `backing` at `mountpoint` (both directories) in a child process. */
export async function startEioFs(backing: string, mountpoint: string): Promise<EioFs> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), backing, mountpoint], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const next = () =>
    Promise.race([
      new Promise<string>((resolve) => waiting.push(resolve)),
      exited.then((code) => Promise.reject(new Error(`eio-fs exited ${code}`))),
    ]);
  const request = async (message: object): Promise<string> => {
    const answer = next();
    child.stdin!.write(`${JSON.stringify(message)}\n`);
    const line = await answer;
    if (!line.startsWith("ok")) throw new Error(`eio-fs: ${line}`);
    return line.slice(3);
  };
  const first = await next();
  if (first !== "mounted") throw new Error(`eio-fs did not mount: ${first}`);
  return {
    mountpoint,
    set: async (rule) => void (await request(rule)),
    stats: async () => JSON.parse(await request({ stats: true })) as EioStats,
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

/** The serving side: runs when this file is the child's entry point. */
async function serve(backing: string, mountpoint: string): Promise<void> {
  let writeRule: { path: string; bytesLeft: number } | null = null;
  let fsyncRule: { path: string; left: number } | null = null;
  let readRule: { path: string; bytesLeft: number } | null = null;
  let badRange: { path: string; offset: number; lengthBytes: number } | null = null;
  let failed = 0;
  const readBytes: Record<string, number> = {};
  const writtenBytes: Record<string, number> = {};
  const fsyncs: Record<string, number> = {};
  const covers = (rule: { path: string } | null, path: string) => rule !== null && (path === rule.path || path.startsWith(`${rule.path}/`));
  /** Charges length bytes to a byte-budget rule covering path; true when they overrun it (the rule trips for good). */
  const overruns = (rule: { path: string; bytesLeft: number } | null, path: string, length: number) => {
    if (rule === null || !covers(rule, path)) return false;
    if (rule.bytesLeft < length) {
      rule.bytesLeft = 0;
      return true;
    }
    rule.bytesLeft -= length;
    return false;
  };
  const real = (path: string) => join(backing, path);
  const fail = (cb: (code: number) => void) => {
    failed++;
    cb(EIO);
  };
  // node:fs callbacks → a FUSE answer: 0, or the negated errno.
  const done =
    <T>(cb: (code: number, value?: T) => void) =>
    (error: NodeJS.ErrnoException | null, value?: T) =>
      error === null ? cb(0, value) : cb(error.errno ?? EIO);

  const ops = {
    getattr: (path: string, cb: (code: number, stat?: fs.Stats) => void) => fs.lstat(real(path), done(cb)),
    readdir: (path: string, cb: (code: number, names?: string[]) => void) => fs.readdir(real(path), done(cb)),
    statfs: (_path: string, cb: (code: number, statfs?: object) => void) =>
      fs.statfs(backing, (error, s) =>
        error === null
          ? cb(0, { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0, flag: 0, namemax: 255 })
          : cb(error.errno ?? EIO),
      ),
    access: (path: string, mode: number, cb: (code: number) => void) => fs.access(real(path), mode, done(cb)),
    // The kernel handles O_CREAT/O_EXCL/O_TRUNC itself and gives every write its offset.
    open: (path: string, flags: number, cb: (code: number, fd?: number) => void) =>
      fs.open(real(path), flags & ~(constants.O_CREAT | constants.O_EXCL | constants.O_TRUNC | constants.O_APPEND), done(cb)),
    create: (path: string, mode: number, cb: (code: number, fd?: number) => void) => fs.open(real(path), constants.O_CREAT | constants.O_RDWR, mode, done(cb)),
    release: (_path: string, fd: number, cb: (code: number) => void) => fs.close(fd, done(cb)),
    flush: (_path: string, _fd: number, cb: (code: number) => void) => cb(0),
    read: (path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (code: number, bytes?: number) => void) => {
      // A bad sector: only reads that touch it fail, before and after.
      if (badRange !== null && path === badRange.path && position < badRange.offset + badRange.lengthBytes && badRange.offset < position + length) return fail(cb);
      if (overruns(readRule, path, length)) return fail(cb);
      fs.read(fd, buffer, 0, length, position, (error, bytes) => {
        if (error !== null) return cb(error.errno ?? EIO);
        readBytes[path] = (readBytes[path] ?? 0) + bytes;
        cb(bytes);
      });
    },
    write: (path: string, fd: number, buffer: Buffer, length: number, position: number, cb: (code: number, bytes?: number) => void) => {
      if (overruns(writeRule, path, length)) return fail(cb);
      fs.write(fd, buffer, 0, length, position, (error, bytes) => {
        if (error !== null) return cb(error.errno ?? EIO);
        writtenBytes[path] = (writtenBytes[path] ?? 0) + bytes;
        cb(bytes);
      });
    },
    fsync: (path: string, _datasync: boolean, fd: number, cb: (code: number) => void) => {
      if (fsyncRule !== null && covers(fsyncRule, path)) {
        if (fsyncRule.left === 0) return fail(cb);
        fsyncRule.left--;
      }
      fsyncs[path] = (fsyncs[path] ?? 0) + 1;
      fs.fdatasync(fd, done(cb));
    },
    fsyncdir: (path: string, _datasync: boolean, _fd: number, cb: (code: number) => void) =>
      fs.open(real(path), constants.O_RDONLY | constants.O_DIRECTORY, (error, fd) => {
        if (error !== null) return cb(error.errno ?? EIO);
        fs.fsync(fd, (syncError) => fs.close(fd, () => cb(syncError === null ? 0 : (syncError.errno ?? EIO))));
      }),
    truncate: (path: string, size: number, cb: (code: number) => void) => fs.truncate(real(path), size, done(cb)),
    ftruncate: (_path: string, fd: number, size: number, cb: (code: number) => void) => fs.ftruncate(fd, size, done(cb)),
    unlink: (path: string, cb: (code: number) => void) => fs.unlink(real(path), done(cb)),
    rename: (source: string, target: string, cb: (code: number) => void) => fs.rename(real(source), real(target), done(cb)),
    link: (source: string, target: string, cb: (code: number) => void) => fs.link(real(source), real(target), done(cb)),
    symlink: (linkTarget: string, path: string, cb: (code: number) => void) => fs.symlink(linkTarget, real(path), done(cb)),
    readlink: (path: string, cb: (code: number, target?: string) => void) => fs.readlink(real(path), done(cb)),
    mkdir: (path: string, mode: number, cb: (code: number) => void) => fs.mkdir(real(path), { mode }, done(cb)),
    rmdir: (path: string, cb: (code: number) => void) => fs.rmdir(real(path), done(cb)),
    chmod: (path: string, mode: number, cb: (code: number) => void) => fs.chmod(real(path), mode, done(cb)),
    chown: (path: string, uid: number, gid: number, cb: (code: number) => void) => fs.lchown(real(path), uid, gid, done(cb)),
    utimens: (path: string, atimeMs: number, mtimeMs: number, cb: (code: number) => void) =>
      fs.lutimes(real(path), new Date(atimeMs), new Date(mtimeMs), done(cb)),
  };

  const Fuse = await loadFuse(fusermountUnmount);
  mkdirSync(mountpoint, { recursive: true });
  const fuse = new Fuse(mountpoint, ops as never, {
    allowOther: false,
    defaultPermissions: false,
    kernelCache: false,
    entryTimeout: 0,
    attrTimeout: 0,
    fsname: "suede-eio",
    // fuse-native joins options with commas: direct_io sends every read and write here (no page
    // cache hides a fault), zero timeouts keep sizes exact, big_writes avoids 4 KiB round trips.
    subtype: "eio,direct_io,big_writes,entry_timeout=0,attr_timeout=0",
    timeout: 60_000,
  });
  await new Promise<void>((resolve, reject) => fuse.mount((error) => (error === null ? resolve() : reject(error))));
  process.stdout.write("mounted\n");

  const input = createInterface({ input: process.stdin });
  for await (const line of input) {
    if (line.trim() === "") continue;
    const rule = JSON.parse(line) as EioRule | { stats: true };
    if ("failWrites" in rule) writeRule = { path: rule.failWrites.path, bytesLeft: rule.failWrites.afterBytes };
    else if ("failFsync" in rule) fsyncRule = { path: rule.failFsync.path, left: rule.failFsync.after };
    else if ("failReads" in rule) readRule = { path: rule.failReads.path, bytesLeft: rule.failReads.afterBytes };
    else if ("badRange" in rule) badRange = { ...rule.badRange };
    else if ("clear" in rule) {
      writeRule = fsyncRule = readRule = badRange = null;
      failed = 0;
    } else {
      process.stdout.write(`ok ${JSON.stringify({ readBytes, writtenBytes, fsyncs, failed })}\n`);
      continue;
    }
    process.stdout.write("ok\n");
  }
  // stdin closed: the test is done with us.
  await new Promise<void>((resolve) => fuse.unmount(() => resolve()));
  if (isMounted(mountpoint)) await fusermountUnmount(mountpoint);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [backing, mountpoint] = process.argv.slice(2);
  if (backing === undefined || mountpoint === undefined) throw new Error("usage: eio-fs.ts BACKING MOUNTPOINT");
  serve(backing, mountpoint).catch((error: unknown) => {
    process.stdout.write(`error ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
