// Goal: RELIABILITY.md T39, restore into a target that already holds things: without --overwrite nothing is
// touched; with it, what is in the way is replaced, a pre-existing symlink is never followed out of the
// target, and an entry that cannot be replaced is named and fails the restore (never reported as success).
// Method: the CLI against prepared targets, the unprivileged case as uid 65534 through setpriv.
import assert from "node:assert/strict";
import { chmod, chown, lchown, lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { hasProgram, initVault, isRoot, suede, suedeOk, tempDir } from "../helpers/cli.ts";
import { compareTrees } from "../helpers/compare-trees.ts";

const NOBODY = 65534;

describe("restore into a non-empty target (T39)", { timeout: 120_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };
  let vault: string;
  let source: string;
  let outside: string;

  before(async () => {
    work = await tempDir("target", 0o755);
    vault = join(work.path, "vault.suede");
    source = join(work.path, "src");
    outside = join(work.path, "outside");
    await mkdir(join(source, "sub"), { recursive: true });
    await mkdir(join(source, "ro"));
    await mkdir(outside);
    await writeFile(join(source, "file-a"), "snapshot a\n");
    await writeFile(join(source, "was-dir"), "a file in the snapshot\n");
    await writeFile(join(source, "sub", "inner.txt"), "inner\n");
    await writeFile(join(source, "ro", "readonly.txt"), "snapshot ro\n");
    await initVault(vault);
    await suedeOk(["backup", vault, source]);
  });

  after(async () => {
    await work.remove();
  });

  /** A target whose copy of the source has every awkward thing in the way; returns that copy's path. */
  async function busyTarget(target: string, owner?: number): Promise<string> {
    const inTarget = join(target, source);
    await mkdir(join(inTarget, "ro"), { recursive: true });
    await mkdir(join(inTarget, "was-dir", "deeper"), { recursive: true });
    await writeFile(join(inTarget, "was-dir", "deeper", "old.txt"), "old\n");
    await writeFile(join(inTarget, "ro", "readonly.txt"), "stale\n");
    await chmod(join(inTarget, "ro", "readonly.txt"), 0o444);
    // Escape attempts: a directory of the snapshot and a file of the snapshot are symlinks leading outside.
    await symlink(outside, join(inTarget, "sub"));
    await symlink(join(outside, "victim"), join(inTarget, "file-a"));
    await writeFile(join(target, "unrelated"), "mine\n");
    if (owner !== undefined) {
      // Only paths inside the target (and outside/) change owner: target, the source's directories under it, their entries.
      const below = [target];
      for (const part of source.split("/").filter((p) => p !== "")) below.push(join(below[below.length - 1]!, part));
      const entries = ["ro", "ro/readonly.txt", "was-dir", "was-dir/deeper", "was-dir/deeper/old.txt", "sub", "file-a"].map((e) => join(inTarget, e));
      for (const path of [...below, ...entries]) {
        assert.ok(path.startsWith(`${target}/`) || path === target, path);
        await lchown(path, owner, owner); // never through a symlink: those lead outside
      }
      await chown(outside, owner, owner);
    }
    return inTarget;
  }

  test("without --overwrite: exit 1 with one line, nothing in the target or outside it changes", async () => {
    const target = join(work.path, "t-refuse");
    const inTarget = await busyTarget(target);
    const result = await suede(["restore", vault, "1", "--target", target]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /not empty.*--overwrite/);
    assert.equal(await readFile(join(inTarget, "ro", "readonly.txt"), "utf8"), "stale\n");
    assert.equal(await readFile(join(inTarget, "was-dir", "deeper", "old.txt"), "utf8"), "old\n");
    assert.equal(await readlink(join(inTarget, "sub")), outside);
    assert.deepEqual(await readdir(outside), []);
  });

  test("with --overwrite: everything in the way is replaced, no symlink is followed out of the target, the rest is kept", async () => {
    const target = join(work.path, "t-overwrite");
    const inTarget = await busyTarget(target);
    await suedeOk(["restore", vault, "1", "--target", target, "--overwrite"]);
    assert.deepEqual(await compareTrees(source, inTarget), []);
    assert.ok((await lstat(join(inTarget, "sub"))).isDirectory(), "the symlink was replaced by a real directory");
    assert.deepEqual(await readdir(outside), [], "nothing was written through the symlinks");
    assert.equal(await readFile(join(target, "unrelated"), "utf8"), "mine\n");
  });

  test("as an unprivileged user, an entry in a read-only directory cannot be replaced: named, exit 1, the rest restored, nothing outside", async (t) => {
    if (!isRoot) return t.skip("needs root to run suede as another user");
    if (!(await hasProgram("setpriv"))) return t.skip("setpriv is not installed");
    await chown(vault, NOBODY, NOBODY);
    try {
      const target = join(work.path, "t-nobody");
      const inTarget = await busyTarget(target, NOBODY);
      await chmod(join(inTarget, "ro"), 0o555);
      const result = await suede(["restore", vault, "1", "--target", target, "--overwrite"], { asUser: NOBODY });
      assert.equal(result.code, 1, result.stderr);
      const errors = result.stderr.split("\n").filter((l) => l.startsWith("suede: error:"));
      assert.equal(errors.length, 1, result.stderr);
      assert.match(errors[0]!, /readonly\.txt: permission denied/);
      assert.match(result.stderr, /1 entries were not restored|1 entry was not restored/);
      assert.equal(await readFile(join(inTarget, "ro", "readonly.txt"), "utf8"), "stale\n", "left as it was, not half-written");
      assert.equal(await readFile(join(inTarget, "was-dir"), "utf8"), "a file in the snapshot\n");
      assert.equal(await readFile(join(inTarget, "file-a"), "utf8"), "snapshot a\n");
      assert.equal(await readFile(join(inTarget, "sub", "inner.txt"), "utf8"), "inner\n");
      assert.deepEqual(await readdir(outside), []);
    } finally {
      await chown(vault, 0, 0);
    }
  });
});
