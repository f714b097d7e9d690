// Goal: NodeSourceFs reports raw-byte names and full-precision lstat data; method: build entries in a fresh temp dir and compare with node:fs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { SuedeError } from "../errors/errors.ts";
import { joinPath } from "./join.ts";
import { listDirectorySync, NodeSourceFs, parseIdFile, statToSourceStat } from "./node-source-fs.ts";

async function withTempDir(run: (dir: Buffer) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "suede-source-"));
  try {
    await run(Buffer.from(dir));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const isRoot = process.getuid?.() === 0;

test("a non-UTF-8 name is listed and lstat-ed byte for byte", () =>
  withTempDir(async (dir) => {
    const name = Buffer.from([0x61, 0xff, 0xfe]);
    await fs.writeFile(joinPath(dir, name), "hello");
    await fs.mkdir(joinPath(dir, Buffer.from("sub")));
    const source = new NodeSourceFs();
    const { names, stats } = listDirectorySync(dir);
    assert.deepEqual(names, [name, Buffer.from("sub")]);
    assert.equal((stats[0] as { sizeBytes: number }).sizeBytes, 5);
    assert.equal((stats[1] as { type: string }).type, "dir");
    const stat = await source.lstat(joinPath(dir, name));
    assert.equal(stat.type, "file");
    assert.equal(stat.sizeBytes, 5);
    assert.equal((await source.lstat(joinPath(dir, Buffer.from("sub")))).type, "dir");
  }));

test("lstat matches node:fs bigint stats and keeps special bits", () =>
  withTempDir(async (dir) => {
    const file = joinPath(dir, Buffer.from("f"));
    await fs.writeFile(file, "x".repeat(1000));
    await fs.chmod(file, 0o4751);
    const raw = await fs.lstat(file, { bigint: true });
    const stat = await new NodeSourceFs().lstat(file);
    assert.deepEqual(stat, {
      type: "file",
      mode: 0o4751,
      uid: Number(raw.uid),
      gid: Number(raw.gid),
      sizeBytes: 1000,
      mtimeNs: raw.mtimeNs,
      ctimeNs: raw.ctimeNs,
      inode: raw.ino,
      device: raw.dev,
      rdev: raw.rdev,
      nlink: 1,
      blocks: Number(raw.blocks),
    });
    assert.deepEqual(statToSourceStat(raw), stat);
    await fs.link(file, joinPath(dir, Buffer.from("g")));
    assert.equal((await new NodeSourceFs().lstat(file)).nlink, 2);
  }));

test("symlinks are not followed and their targets stay raw bytes", () =>
  withTempDir(async (dir) => {
    const target = Buffer.from([0x2e, 0x2e, 0x2f, 0xc3, 0x28]);
    const link = joinPath(dir, Buffer.from([0x6c, 0x80]));
    await fs.symlink(target, link);
    const source = new NodeSourceFs();
    const stat = await source.lstat(link);
    assert.equal(stat.type, "symlink");
    assert.equal(stat.sizeBytes, target.byteLength);
    assert.deepEqual(await source.readlink(link), target);
  }));

test("fifo, socket and device types", () =>
  withTempDir(async (dir) => {
    const source = new NodeSourceFs();
    const fifo = path.join(dir.toString(), "fifo");
    execFileSync("mkfifo", [fifo]);
    assert.equal((await source.lstat(Buffer.from(fifo))).type, "fifo");
    const devNull = await source.lstat(Buffer.from("/dev/null"));
    assert.equal(devNull.type, "chardev");
    assert.equal(devNull.rdev, (await fs.lstat("/dev/null", { bigint: true })).rdev);
    assert.equal((await source.lstat(Buffer.from(dir))).type, "dir");
    const socketPath = path.join(dir.toString(), "sock");
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      assert.equal((await source.lstat(Buffer.from(socketPath))).type, "socket");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }));

test("blocks show holes in a sparse file", () =>
  withTempDir(async (dir) => {
    const file = joinPath(dir, Buffer.from("sparse"));
    const handle = await fs.open(file, "w");
    await handle.truncate(16 * 1024 * 1024);
    await handle.close();
    const stat = await new NodeSourceFs().lstat(file);
    assert.equal(stat.sizeBytes, 16 * 1024 * 1024);
    assert.ok(stat.blocks * 512 < stat.sizeBytes);
  }));

test("errors keep their errno code", async () => {
  await assert.rejects(new NodeSourceFs().lstat(Buffer.from("/nonexistent-suede-test")), { code: "ENOENT" });
});

test("unknown file types are SOURCE_UNREADABLE", () => {
  const fake = { mode: 0o160000n } as unknown as Parameters<typeof statToSourceStat>[0];
  assert.throws(() => statToSourceStat(fake), (e: unknown) => e instanceof SuedeError && e.code === "SOURCE_UNREADABLE");
});

test("user and group names come from the account files, read once", () =>
  withTempDir(async (dir) => {
    const passwd = path.join(dir.toString(), "passwd");
    const group = path.join(dir.toString(), "group");
    await fs.writeFile(passwd, "root:x:0:0:root:/root:/bin/sh\n# comment\nbad line\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\n");
    await fs.writeFile(group, "root:x:0:\nstaff:x:50:alice\n");
    const source = new NodeSourceFs(passwd, group);
    assert.equal(source.userName(0), "root");
    assert.equal(source.userName(1000), "alice");
    assert.equal(source.userName(4242), "");
    assert.equal(source.groupName(50), "staff");
    assert.equal(source.groupName(1000), "");
    // Cached: later edits are not seen by this instance.
    await fs.writeFile(passwd, "bob:x:4242:0::/:/bin/sh\n");
    assert.equal(source.userName(4242), "");
    assert.equal(new NodeSourceFs(passwd, group).userName(4242), "bob");
    const missing = new NodeSourceFs(path.join(dir.toString(), "none"), path.join(dir.toString(), "none"));
    assert.equal(missing.userName(0), "");
    assert.equal(missing.groupName(0), "");
  }));

test("parseIdFile skips malformed lines", () => {
  const names = parseIdFile("a:x:1\n:x:2\nb:x:\nc:x:-3\nd:x:04:\n\n");
  assert.deepEqual([...names], [[1, "a"], [4, "d"]]);
});

test("the system account files resolve root when running as root", { skip: !isRoot }, () => {
  const source = new NodeSourceFs();
  assert.equal(source.userName(0), "root");
  assert.equal(source.groupName(0), "root");
});
