// Goal: NodeTargetFs writes exact bytes and holes, creates special files, applies metadata and never follows existing symlinks; method: restore into fresh temp dirs and check with node:fs lstat/readFile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { FilePiece, TargetMetadata } from "../core/ports.ts";
import { SuedeError } from "../errors/errors.ts";
import { errorReason } from "./error-reason.ts";
import { joinPath } from "./join.ts";
import {
  NodeTargetFs,
  makeDevice,
  splitDevice,
  syncPath,
  targetError,
  utimesArgument,
  utimesSeconds,
} from "./node-target-fs.ts";

const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;
const rootOnly = { skip: isRoot ? false : "needs root" };

async function withTempDir(run: (dir: Buffer) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "suede-target-"));
  try {
    await run(Buffer.from(dir));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const at = (dir: Buffer, ...names: (string | number[])[]): Buffer =>
  names.reduce<Buffer>((p, n) => joinPath(p, typeof n === "string" ? Buffer.from(n) : Buffer.from(n)), dir);

async function* piecesOf(...pieces: FilePiece[]): AsyncIterable<FilePiece> {
  for (const piece of pieces) yield piece;
}

function isCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof SuedeError && error.code === code;
}

function expected(...parts: (Uint8Array | number)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === "number" ? Buffer.alloc(p) : p)));
}

test("sparse write leaves holes and exact bytes", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const file = at(dir, "sparse");
    const head = Buffer.alloc(4096, 0x61);
    const tail = Buffer.alloc(5000, 0x62);
    const zeroBytes = 8 * MiB - head.byteLength - tail.byteLength;
    await target.writeFile(file, piecesOf({ data: head }, { zeroBytes }, { data: tail }), {
      sparse: true,
      sizeBytes: 8 * MiB,
    });
    const stat = await fs.lstat(file);
    assert.equal(stat.size, 8 * MiB);
    assert.ok(stat.blocks * 512 < MiB, `blocks ${stat.blocks}`);
    assert.ok((await fs.readFile(file)).equals(expected(head, zeroBytes, tail)));
    assert.equal(stat.mode & 0o777, 0o600);
  }));

test("non-sparse zero pieces are written as zeros", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const file = at(dir, "dense");
    const head = new Uint8Array([1, 2, 3]);
    // Larger than the 1 MiB zero buffer and not a multiple of it.
    const zeroBytes = 3 * MiB + 123;
    await target.writeFile(file, piecesOf({ data: head }, { zeroBytes }, { data: head }, { zeroBytes: 7 }), {
      sparse: false,
      sizeBytes: 6 + zeroBytes + 7,
    });
    const stat = await fs.lstat(file);
    assert.equal(stat.size, 6 + zeroBytes + 7);
    assert.ok(stat.blocks * 512 >= 3 * MiB, `blocks ${stat.blocks}`);
    assert.ok((await fs.readFile(file)).equals(expected(head, zeroBytes, head, 7)));
  }));

test("a trailing hole is made real by truncate", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const file = at(dir, "trailing");
    const data = Buffer.from("0123456789");
    await target.writeFile(file, piecesOf({ data }, { zeroBytes: 2 * MiB }), { sparse: true, sizeBytes: 10 + 2 * MiB });
    const stat = await fs.lstat(file);
    assert.equal(stat.size, 10 + 2 * MiB);
    assert.ok(stat.blocks * 512 < MiB);
    assert.ok((await fs.readFile(file)).equals(expected(data, 2 * MiB)));
  }));

test("an existing larger file is replaced, and empty files work", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const file = at(dir, [0x61, 0xff, 0xfe]);
    await fs.writeFile(file, "a much longer previous content");
    await target.writeFile(file, piecesOf({ data: Buffer.from("new") }), { sparse: false, sizeBytes: 3 });
    assert.equal((await fs.readFile(file)).toString(), "new");
    await target.writeFile(file, piecesOf(), { sparse: true, sizeBytes: 0 });
    assert.equal((await fs.lstat(file)).size, 0);
  }));

test("writeFile over an existing symlink does not follow it", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const victim = at(dir, "victim");
    await fs.writeFile(victim, "keep me");
    const link = at(dir, "link");
    await fs.symlink(victim, link);
    await assert.rejects(
      target.writeFile(link, piecesOf({ data: Buffer.from("evil") }), { sparse: false, sizeBytes: 4 }),
      isCode("TARGET_UNWRITABLE"),
    );
    assert.equal((await fs.readFile(victim)).toString(), "keep me");
    assert.ok((await fs.lstat(link)).isSymbolicLink());
  }));

test("writeFile over an existing fifo fails instead of hanging", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const fifo = at(dir, "fifo");
    await target.mknod(fifo, "fifo", 0o644, 0n);
    await assert.rejects(
      target.writeFile(fifo, piecesOf({ data: Buffer.from("x") }), { sparse: false, sizeBytes: 1 }),
      isCode("TARGET_UNWRITABLE"),
    );
  }));

test("errors from the piece source pass through unchanged", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const failure = new SuedeError("VAULT_CORRUPT", "boom");
    async function* broken(): AsyncIterable<FilePiece> {
      yield { data: Buffer.from("part") };
      throw failure;
    }
    await assert.rejects(target.writeFile(at(dir, "f"), broken(), { sparse: false, sizeBytes: 10 }), (e) => e === failure);
  }));

test("existingType does not follow symlinks", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    await fs.mkdir(at(dir, "d"));
    await fs.writeFile(at(dir, "f"), "");
    await fs.symlink(at(dir, "d"), at(dir, "l"));
    assert.equal(await target.existingType(at(dir, "d")), "dir");
    assert.equal(await target.existingType(at(dir, "f")), "file");
    assert.equal(await target.existingType(at(dir, "l")), "symlink");
    assert.equal(await target.existingType(at(dir, "missing")), null);
  }));

test("mkdir keeps a real directory and refuses a symlink to one", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const sub = at(dir, [0x64, 0xff]);
    await target.mkdir(sub);
    await fs.writeFile(at(dir, [0x64, 0xff], "inside"), "x");
    await target.mkdir(sub);
    assert.equal((await fs.readFile(at(dir, [0x64, 0xff], "inside"))).toString(), "x");
    await fs.symlink(sub, at(dir, "link"));
    await assert.rejects(target.mkdir(at(dir, "link")), isCode("TARGET_UNWRITABLE"));
    await fs.writeFile(at(dir, "file"), "");
    await assert.rejects(target.mkdir(at(dir, "file")), isCode("TARGET_UNWRITABLE"));
    await assert.rejects(target.mkdir(at(dir, "missing", "child")), isCode("TARGET_UNWRITABLE"));
  }));

test("symlink and link keep raw bytes and never replace", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const linkTarget = Buffer.from([0x2e, 0x2e, 0x2f, 0xff]);
    const link = at(dir, [0x73, 0xfe]);
    await target.symlink(link, linkTarget);
    assert.deepEqual(await fs.readlink(link, { encoding: "buffer" }), linkTarget);
    await assert.rejects(target.symlink(link, Buffer.from("x")), isCode("TARGET_UNWRITABLE"));

    const file = at(dir, "file");
    await fs.writeFile(file, "data");
    await target.link(file, at(dir, [0x68, 0xfd]));
    assert.equal((await fs.lstat(file)).nlink, 2);
    await assert.rejects(target.link(file, link), isCode("TARGET_UNWRITABLE"));
  }));

test("remove deletes trees with non-UTF-8 names, ignores missing paths and does not follow symlinks", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const tree = at(dir, [0x74, 0xff]);
    await fs.mkdir(at(dir, [0x74, 0xff], [0x75, 0xfe]), { recursive: true });
    await fs.writeFile(at(dir, [0x74, 0xff], [0x75, 0xfe], [0x76, 0xfd]), "x");
    await target.remove(tree);
    assert.equal(await target.existingType(tree), null);
    await target.remove(at(dir, "missing"));

    await fs.mkdir(at(dir, "kept"));
    await fs.writeFile(at(dir, "kept", "f"), "x");
    await fs.symlink(at(dir, "kept"), at(dir, "link"));
    await target.remove(at(dir, "link"));
    assert.equal(await target.existingType(at(dir, "link")), null);
    assert.equal((await fs.readFile(at(dir, "kept", "f"))).toString(), "x");
  }));

test("fifo is created with its mode, also under a non-UTF-8 directory, and never replaces", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const fifo = at(dir, "fifo");
    await target.mknod(fifo, "fifo", 0o640, 0n);
    const stat = await fs.lstat(fifo);
    assert.ok(stat.isFIFO());
    assert.equal(stat.mode & 0o7777, 0o640);

    const odd = at(dir, [0x64, 0xff]);
    await fs.mkdir(odd);
    const oddFifo = at(dir, [0x64, 0xff], [0x66, 0xfe, 0x0a]);
    await target.mknod(oddFifo, "fifo", 0o600, 0n);
    assert.ok((await fs.lstat(oddFifo)).isFIFO());
    // Only the node itself is left: no temporary names.
    assert.deepEqual(await fs.readdir(odd, { encoding: "buffer" }), [Buffer.from([0x66, 0xfe, 0x0a])]);

    await assert.rejects(target.mknod(fifo, "fifo", 0o600, 0n), isCode("TARGET_UNWRITABLE"));
    await fs.symlink("/nonexistent", at(dir, "dangling"));
    await assert.rejects(target.mknod(at(dir, "dangling"), "fifo", 0o600, 0n), isCode("TARGET_UNWRITABLE"));
    assert.ok((await fs.lstat(at(dir, "dangling"))).isSymbolicLink());
    assert.deepEqual((await fs.readdir(dir.toString())).sort(), ["dangling", "d\ufffd", "fifo"].sort());
  }));

test("sockets are created under short, long and non-UTF-8 paths", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const plain = at(dir, "sock");
    await target.mknod(plain, "socket", 0o755, 0n);
    const stat = await fs.lstat(plain);
    assert.ok(stat.isSocket());
    assert.equal(stat.mode & 0o7777, 0o755);

    const deep = at(dir, "a".repeat(60), "b".repeat(60));
    await fs.mkdir(deep, { recursive: true });
    const long = at(deep, "socket-with-a-long-name");
    assert.ok(long.byteLength > 108);
    await target.mknod(long, "socket", 0o600, 0n);
    assert.ok((await fs.lstat(long)).isSocket());

    const odd = at(dir, [0x73, 0xff]);
    await target.mknod(odd, "socket", 0o600, 0n);
    assert.ok((await fs.lstat(odd)).isSocket());
    assert.deepEqual((await fs.readdir(deep)), ["socket-with-a-long-name"]);
  }));

test("device numbers split and join the Linux way", () => {
  assert.deepEqual(splitDevice(makeDevice(1n, 3n)), { major: 1n, minor: 3n });
  assert.equal(makeDevice(1n, 3n), 0x103n);
  assert.equal(makeDevice(8n, 17n), 0x811n);
  const big = makeDevice(0x12345n, 0xabcdefn);
  assert.deepEqual(splitDevice(big), { major: 0x12345n, minor: 0xabcdefn });
});

test("character and block devices get the right type and rdev", rootOnly, () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const nullRdev = (await fs.lstat("/dev/null", { bigint: true })).rdev;
    assert.equal(nullRdev, makeDevice(1n, 3n));
    const chr = at(dir, "null");
    await target.mknod(chr, "chardev", 0o666, nullRdev);
    const chrStat = await fs.lstat(chr, { bigint: true });
    assert.ok(chrStat.isCharacterDevice());
    assert.equal(chrStat.rdev, nullRdev);
    assert.equal(Number(chrStat.mode) & 0o7777, 0o666);

    const blk = at(dir, [0x62, 0xff]);
    const blkRdev = makeDevice(300n, 70000n);
    await target.mknod(blk, "blockdev", 0o600, blkRdev);
    const blkStat = await fs.lstat(blk, { bigint: true });
    assert.ok(blkStat.isBlockDevice());
    assert.equal(blkStat.rdev, blkRdev);
  }));

test("setMetadata keeps setuid after chown", rootOnly, () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const file = at(dir, "suid");
    await target.writeFile(file, piecesOf({ data: Buffer.from("#!") }), { sparse: false, sizeBytes: 2 });
    const metadata: TargetMetadata = { type: "file", mode: 0o6755, uid: 1234, gid: 5678, mtimeNs: 1_600_000_000_000_000_000n };
    await target.setMetadata(file, metadata, { restoreOwner: true });
    const stat = await fs.lstat(file);
    assert.equal(stat.uid, 1234);
    assert.equal(stat.gid, 5678);
    assert.equal(stat.mode & 0o7777, 0o6755);
  }));

test("setMetadata on directories: mode and owner exact whether or not they already match", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const mtimeNs = 1_500_000_000_250_000_000n;
    // Already as recorded (nothing to change but the time), umask-narrowed, special bits, read-only.
    const cases: [string, number][] = [["same", 0o755], ["wide", 0o777], ["setgid", 0o2755], ["sticky", 0o1777], ["readonly", 0o555]];
    for (const [name, mode] of cases) {
      const path = at(dir, name);
      await target.mkdir(path);
      await fs.chmod(path, 0o755);
      await target.setMetadata(path, { type: "dir", mode, uid, gid, mtimeNs }, { restoreOwner: true });
      const stat = await fs.lstat(path, { bigint: true });
      assert.equal(Number(stat.mode) & 0o7777, mode, name);
      assert.equal(stat.uid, BigInt(uid), name);
      assert.equal(stat.gid, BigInt(gid), name);
      assert.equal(stat.mtimeNs, mtimeNs, name);
    }
  }));

test("setMetadata gives a directory its recorded owner when the target's state differs (setgid parent, other owner)", rootOnly, () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const parent = at(dir, "sgid");
    await fs.mkdir(parent);
    await fs.chown(parent, 0, 4242);
    await fs.chmod(parent, 0o2777);
    // Created under a setgid directory, the child inherits group 4242 and the setgid bit: both must go.
    const child = at(dir, "sgid", "child");
    await target.mkdir(child);
    assert.equal((await fs.lstat(child)).gid, 4242);
    await target.setMetadata(child, { type: "dir", mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n }, { restoreOwner: true });
    let stat = await fs.lstat(child);
    assert.equal(stat.gid, 0);
    assert.equal(stat.mode & 0o7777, 0o755);
    await target.setMetadata(child, { type: "dir", mode: 0o755, uid: 1234, gid: 5678, mtimeNs: 0n }, { restoreOwner: true });
    stat = await fs.lstat(child);
    assert.equal(stat.uid, 1234);
    assert.equal(stat.gid, 5678);
    assert.equal(stat.mode & 0o7777, 0o755);
  }));

test("setMetadata on a symlink changes the link, not its target", rootOnly, () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const file = at(dir, "file");
    await fs.writeFile(file, "");
    await fs.chmod(file, 0o644);
    const before = await fs.lstat(file, { bigint: true });
    const link = at(dir, "link");
    await target.symlink(link, file);
    const mtimeNs = 1_000_000_000_123_456_000n;
    await target.setMetadata(link, { type: "symlink", mode: 0o777, uid: 4321, gid: 8765, mtimeNs }, { restoreOwner: true });
    const linkStat = await fs.lstat(link, { bigint: true });
    assert.equal(linkStat.uid, 4321n);
    assert.equal(linkStat.mtimeNs, mtimeNs);
    const after = await fs.lstat(file, { bigint: true });
    assert.equal(after.uid, before.uid);
    assert.equal(after.mode, before.mode);
    assert.equal(after.mtimeNs, before.mtimeNs);
  }));

test("setMetadata refuses to chmod through a symlink that replaced the entry", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const victim = at(dir, "victim");
    await fs.writeFile(victim, "");
    await fs.chmod(victim, 0o600);
    await fs.symlink(victim, at(dir, "entry"));
    await assert.rejects(
      target.setMetadata(at(dir, "entry"), { type: "file", mode: 0o777, uid: 0, gid: 0, mtimeNs: 0n }, { restoreOwner: false }),
      isCode("TARGET_UNWRITABLE"),
    );
    assert.equal((await fs.lstat(victim)).mode & 0o7777, 0o600);
  }));

test("mtime round-trips to the microsecond and atime equals mtime", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const file = at(dir, "times");
    await fs.writeFile(file, "");
    const samples = [
      0n,
      1_700_000_000_123_456_789n,
      1_700_000_000_999_999_999n,
      1_234_567_890_000_001_000n,
      4_102_444_800_000_000_999n, // 2100-01-01
      -1_000n,
      -500_000_000n,
      -86_400_123_456_789n,
    ];
    let seed = 12345;
    for (let i = 0; i < 300; i += 1) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      samples.push(1_500_000_000_000_000_000n + BigInt(seed) * 1_000_003_001n);
    }
    for (const mtimeNs of samples) {
      await target.setMetadata(file, { type: "file", mode: 0o644, uid: 0, gid: 0, mtimeNs }, { restoreOwner: false });
      const stat = await fs.lstat(file, { bigint: true });
      const micros = (ns: bigint): bigint => (ns - (((ns % 1000n) + 1000n) % 1000n)) / 1000n;
      assert.equal(micros(stat.mtimeNs), micros(mtimeNs), `mtime ${mtimeNs} became ${stat.mtimeNs}`);
      assert.equal(stat.mtimeNs % 1000n, 0n);
      assert.equal(stat.atimeNs, stat.mtimeNs);
      assert.equal(Number(stat.mode) & 0o7777, 0o644);
    }
  }));

test("utimesSeconds aims inside the intended microsecond", () => {
  assert.ok(Math.abs(utimesSeconds(1_500_000_000_000_000_000n) - 1_500_000_000.0000005) < 1e-6);
  assert.ok(Math.abs(utimesSeconds(-1_000n) - -0.0000015) < 1e-9);
  assert.ok(Math.abs(utimesSeconds(0n) - 0.0000005) < 1e-12);
  assert.equal(utimesArgument(-1_000n), String(utimesSeconds(-1_000n)));
  assert.equal(utimesArgument(5_000n), utimesSeconds(5_000n));
});

test("OS errors become TARGET_UNWRITABLE or NO_SPACE with a safe path", () => {
  const noSpace = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  const wrapped = targetError(Buffer.from([0x2f, 0x61, 0xff]), noSpace);
  assert.equal(wrapped.code, "NO_SPACE");
  assert.equal(wrapped.cause, noSpace);
  const denied = Object.assign(new Error("EACCES: permission denied, open '/a\ufffd'"), { code: "EACCES" });
  const other = targetError(Buffer.from([0x2f, 0x61, 0xff]), denied);
  assert.equal(other.code, "TARGET_UNWRITABLE");
  assert.equal(other.message, "cannot write /a\\xff: permission denied (EACCES)");
  const already = new SuedeError("CANCELLED", "stop");
  assert.equal(targetError(Buffer.from("/x"), already), already);
  assert.equal(errorReason(new Error("plain")), "plain");
});

test("syncPath syncs files and directories", () =>
  withTempDir(async (dir) => {
    await fs.writeFile(at(dir, "f"), "x");
    await syncPath(at(dir, "f"));
    await syncPath(dir);
    await assert.rejects(syncPath(at(dir, "missing")), isCode("TARGET_UNWRITABLE"));
  }));

test("writeFile restores the exact mode whatever the umask, setuid bits or an existing file's mode", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const uid = process.geteuid?.() ?? 0;
    const gid = process.getegid?.() ?? 0;
    const mtimeNs = 1_600_000_000_123_456_000n;
    const previousUmask = process.umask(0o027);
    try {
      // Small (synchronous) and big (FileHandle) paths; modes the umask would cut, setuid, none at all.
      for (const size of [3, 300 * 1024]) {
        for (const mode of [0o644, 0o777, 0o666, 0o4755, 0o2750, 0o1700, 0o400, 0o000]) {
          const file = at(dir, `f-${size}-${mode.toString(8)}`);
          const metadata: TargetMetadata = { type: "file", mode, uid, gid, mtimeNs };
          await target.writeFile(file, piecesOf({ data: Buffer.alloc(size, 0x61) }), { sparse: false, sizeBytes: size, metadata: { metadata, restoreOwner: false } });
          const stat = await fs.lstat(file);
          assert.equal(stat.mode & 0o7777, mode, `${size} bytes, mode ${mode.toString(8)}`);
          assert.equal(stat.size, size);
          assert.equal(stat.mtimeMs, 1_600_000_000_123.456);
        }
      }
      // --overwrite keeps the inode of an existing file: its old mode must not survive.
      const existing = at(dir, "existing");
      await fs.writeFile(existing, "old");
      await fs.chmod(existing, 0o755);
      await target.writeFile(existing, piecesOf({ data: Buffer.from("new") }), {
        sparse: false,
        sizeBytes: 3,
        metadata: { metadata: { type: "file", mode: 0o640, uid, gid, mtimeNs }, restoreOwner: false },
      });
      assert.equal((await fs.lstat(existing)).mode & 0o7777, 0o640);
    } finally {
      process.umask(previousUmask);
    }
  }));

test("writeFile with another owner restores owner and exact mode, setuid included", rootOnly, () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    for (const size of [3, 300 * 1024]) {
      for (const mode of [0o644, 0o6755]) {
        const file = at(dir, `o-${size}-${mode.toString(8)}`);
        const metadata: TargetMetadata = { type: "file", mode, uid: 1234, gid: 5678, mtimeNs: 1_600_000_000_000_000_000n };
        await target.writeFile(file, piecesOf({ data: Buffer.alloc(size, 0x62) }), { sparse: false, sizeBytes: size, metadata: { metadata, restoreOwner: true } });
        const stat = await fs.lstat(file);
        assert.equal(stat.uid, 1234);
        assert.equal(stat.gid, 5678);
        assert.equal(stat.mode & 0o7777, mode, `${size} bytes, mode ${mode.toString(8)}`);
      }
    }
  }));

test("writeFile with the restoring user's owner: no chown needed, yet a setgid directory's group is undone", rootOnly, () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const sgid = at(dir, "sgid");
    await fs.mkdir(sgid);
    await fs.chown(sgid, 0, 4242);
    await fs.chmod(sgid, 0o2777);
    for (const size of [3, 300 * 1024]) {
      for (const [name, parent] of [["plain", dir], ["sgid", sgid]] as const) {
        for (const mode of [0o644, 0o4755]) {
          const file = at(parent, `same-${name}-${size}-${mode.toString(8)}`);
          const metadata: TargetMetadata = { type: "file", mode, uid: 0, gid: 0, mtimeNs: 1_600_000_000_000_000_000n };
          await target.writeFile(file, piecesOf({ data: Buffer.alloc(size, 0x63) }), { sparse: false, sizeBytes: size, metadata: { metadata, restoreOwner: true } });
          const stat = await fs.lstat(file);
          const what = `${name}, ${size} bytes, mode ${mode.toString(8)}`;
          assert.equal(stat.uid, 0, what);
          assert.equal(stat.gid, 0, what);
          assert.equal(stat.mode & 0o7777, mode, what);
          assert.equal(stat.size, size, what);
        }
      }
    }
  }));

/** A writeTo piece that writes bytes at the position it is given, after a delay; it records what it saw. */
function writeToPiece(bytes: Buffer, delayMs: number, seen: string[], fail?: Error): FilePiece {
  return {
    sizeBytes: bytes.byteLength,
    writeTo: async (fd, position) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (fail !== undefined) throw fail;
      try {
        writeSync(fd, bytes, 0, bytes.byteLength, position);
        seen.push(`wrote ${position}`);
      } catch (error) {
        seen.push(`write failed: ${(error as NodeJS.ErrnoException).code}`);
      }
    },
  };
}

test("writeTo pieces land at their positions among data pieces and holes, in flight together", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const file = at(dir, "direct");
    const a = Buffer.alloc(600 * 1024, 0x41);
    const b = Buffer.alloc(700 * 1024, 0x42);
    const c = Buffer.alloc(100 * 1024, 0x43);
    const seen: string[] = [];
    // The first piece is the slowest: its write lands after the later ones were started.
    await target.writeFile(file, piecesOf(writeToPiece(a, 60, seen), { zeroBytes: MiB }, { data: c }, writeToPiece(b, 5, seen), { zeroBytes: 4096 }), {
      sparse: true,
      sizeBytes: a.byteLength + MiB + c.byteLength + b.byteLength + 4096,
    });
    assert.deepEqual(seen, [`wrote ${a.byteLength + MiB + c.byteLength}`, "wrote 0"]);
    assert.ok((await fs.readFile(file)).equals(expected(a, MiB, c, b, 4096)));
  }));

test("a failing writeTo fails the file with its error, and the fd stays open until every write in flight settled", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const damage = new SuedeError("VAULT_CORRUPT", "vault damaged at offset 7: test");
    const seen: string[] = [];
    const slow = Buffer.alloc(400 * 1024, 0x44);
    // The first piece fails at once; the second is still writing when that failure is seen.
    const pieces = piecesOf(writeToPiece(Buffer.alloc(400 * 1024), 1, seen, damage), writeToPiece(slow, 80, seen));
    await assert.rejects(target.writeFile(at(dir, "damaged"), pieces, { sparse: false, sizeBytes: 800 * 1024 }), (error) => error === damage);
    assert.deepEqual(seen, [`wrote ${400 * 1024}`], "the slow write still had its fd");
    // An OS error from the writing thread is worded like any other target error.
    const full = Object.assign(new Error("no space"), { code: "ENOSPC" });
    await assert.rejects(
      target.writeFile(at(dir, "full"), piecesOf(writeToPiece(slow, 1, [], full)), { sparse: false, sizeBytes: slow.byteLength }),
      isCode("NO_SPACE"),
    );
  }));

test("pieces given as an array (restore's small files): exact bytes, holes, mode and time; a writeTo piece among them still lands", () =>
  withTempDir(async (dir) => {
    const target = new NodeTargetFs();
    const head = Buffer.alloc(3000, 0x61);
    const tail = Buffer.alloc(70 * 1024, 0x62);
    const mtimeNs = 1_700_000_000_123_456_000n;
    const metadata: TargetMetadata = { type: "file", mode: 0o751, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtimeNs };
    for (const sparse of [true, false]) {
      const file = at(dir, `small-${sparse}`);
      const pieces: FilePiece[] = [{ data: head }, { zeroBytes: 100 * 1024 }, { data: tail }, { zeroBytes: 5000 }];
      const sizeBytes = head.byteLength + 100 * 1024 + tail.byteLength + 5000;
      await target.writeFile(file, pieces, { sparse, sizeBytes, metadata: { metadata, restoreOwner: false } });
      const stat = await fs.lstat(file, { bigint: true });
      assert.ok((await fs.readFile(file)).equals(expected(head, 100 * 1024, tail, 5000)));
      assert.equal(Number(stat.mode) & 0o7777, 0o751);
      assert.equal(stat.mtimeNs, mtimeNs);
      if (sparse) assert.ok(Number(stat.blocks) * 512 < sizeBytes, `blocks ${stat.blocks}`);
    }
    // An empty array is an empty file; a failed write of an array rejects (nothing written in place of a directory).
    await target.writeFile(at(dir, "empty"), [], { sparse: false, sizeBytes: 0 });
    assert.equal((await fs.lstat(at(dir, "empty"))).size, 0);
    await fs.mkdir(at(dir, "a-dir"));
    await assert.rejects(target.writeFile(at(dir, "a-dir"), [{ data: head }], { sparse: false, sizeBytes: head.byteLength }), isCode("TARGET_UNWRITABLE"));
    const seen: string[] = [];
    const direct = Buffer.alloc(8192, 0x63);
    await target.writeFile(at(dir, "mixed"), [{ data: head }, writeToPiece(direct, 1, seen)], { sparse: false, sizeBytes: head.byteLength + direct.byteLength });
    assert.deepEqual(seen, [`wrote ${head.byteLength}`]);
    assert.ok((await fs.readFile(at(dir, "mixed"))).equals(expected(head, direct)));
  }));
