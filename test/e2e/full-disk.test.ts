// Goal: a full disk ends a backup with a clear error and loses nothing. Method: the vault lives on a
// 48 MiB tmpfs (root only); a backup that needs more fails with exit 1 and "no space", the earlier
// snapshot still checks and restores, retries do not grow the file, and after the tmpfs is enlarged
// the same backup succeeds.
import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { initVault, isRoot, runTool, snapshotsJson, suede, suedeOk, tempDir } from "../helpers/cli.ts";

function noise(seed: number, size: number): Buffer {
  const key = Buffer.alloc(16, seed);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

test("backup on a full disk: exit 1 with 'no space', vault intact, retry after freeing space works", { skip: !isRoot && "needs root to mount a tmpfs" }, async () => {
  const work = await tempDir("suede-enospc-");
  const mount = join(work.path, "disk");
  mkdirSync(mount);
  await runTool("mount", ["-t", "tmpfs", "-o", "size=48m", "tmpfs", mount]);
  try {
    const vault = join(mount, "v.vault");
    const source = join(work.path, "src");
    mkdirSync(source);
    writeFileSync(join(source, "first.bin"), noise(1, 20 * 1024 * 1024));
    await initVault(vault);
    await suedeOk(["backup", vault, source]);
    const target1 = join(work.path, "restore-before");
    await suedeOk(["restore", vault, "1", "--target", target1]);

    writeFileSync(join(source, "second.bin"), noise(2, 40 * 1024 * 1024));
    const sizes: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const failed = await suede(["backup", vault, source]);
      assert.equal(failed.code, 1, failed.stderr);
      assert.match(failed.stderr, /no space left/);
      assert.equal(failed.stderr.trim().split("\n").length, 1, `one-line error, got: ${failed.stderr}`);
      sizes.push(statSync(vault).size);
    }
    assert.ok(sizes.every((size) => size === sizes[0]), `retries must not grow the vault: ${sizes.join(", ")}`);
    assert.deepEqual((await snapshotsJson(vault)).map((s) => s.id), [1]);
    await suedeOk(["check", vault, "--read-data"]);

    await runTool("mount", ["-o", "remount,size=160m", mount]);
    await suedeOk(["backup", vault, source]);
    assert.deepEqual((await snapshotsJson(vault)).map((s) => s.id), [1, 2]);
    await suedeOk(["check", vault, "--read-data"]);
  } finally {
    await runTool("umount", [mount]).catch(() => undefined);
    await work.remove();
  }
});
