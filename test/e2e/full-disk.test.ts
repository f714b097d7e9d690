// Goal: a full disk ends a backup, prune or key change with a clear error and loses nothing. Method: the vault lives on a
// 48 MiB tmpfs (root only); a backup that needs more fails with exit 1 and "no space", the earlier
// snapshot still checks and restores, retries do not grow the file, and after the tmpfs is enlarged
// the same backup succeeds.
import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FAST_KDF, PASSPHRASE, initVault, isRoot, runTool, snapshotsJson, suede, suedeOk, tempDir } from "../helpers/cli.ts";

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

/** Fills the file system holding dir with a filler file until ENOSPC; returns its path. */
function fillUp(dir: string): string {
  const filler = join(dir, "filler");
  const fd = openSync(filler, "w");
  const block = Buffer.alloc(64 * 1024, 7);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  return filler;
}

test("prune, forget --prune and key changes on a full disk: each succeeds or exits 1 with one 'no space' line, the vault stays at a commit that checks and restores, no temp or lock file is left, and after freeing space prune succeeds", { skip: !isRoot && "needs root to mount a tmpfs" }, async (t) => {
  const work = await tempDir("suede-enospc-prune-");
  const mount = join(work.path, "disk");
  mkdirSync(mount);
  await runTool("mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", mount]);
  try {
    const vault = join(mount, "v.vault");
    const sources = [1, 2, 3].map((i) => {
      const dir = join(work.path, `src${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, "data.bin"), noise(10 + i, 5 * 1024 * 1024));
      return dir;
    });
    await initVault(vault);
    for (const source of sources) await suedeOk(["backup", vault, source]);
    await suedeOk(["forget", vault, "1"]);
    const filler = fillUp(mount);
    const leftovers = () => readdirSync(mount).filter((name) => name !== "v.vault" && name !== "filler");
    const attempts: string[][] = [
      ["prune", vault],
      ["forget", vault, "2", "--prune"],
      ["key", "add", vault, ...FAST_KDF],
      ["key", "passwd", vault, ...FAST_KDF],
    ];
    const outcomes: string[] = [];
    // First with not one byte free (even the lock cannot be written), then with 128 KiB free (the
    // lock is taken and the commands run out of space on the way).
    const rounds = [...attempts, ["free"], ...attempts];
    for (const args of rounds) {
      if (args[0] === "free") {
        truncateSync(filler, statSync(filler).size - 128 * 1024);
        continue;
      }
      const result = await suede(args, { env: { SUEDE_NEW_PASSPHRASE: PASSPHRASE } });
      outcomes.push(`${args[0]}${args[0] === "key" ? ` ${args[1]}` : ""}: ${result.code}`);
      if (result.code !== 0) {
        assert.equal(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stderr, /no space left/, args.join(" "));
        assert.equal(result.stderr.trim().split("\n").length, 1, `one-line error, got: ${result.stderr}`);
      }
      assert.deepEqual(leftovers(), [], `${args.join(" ")} left files behind`);
      // Whatever happened, the vault is at a commit: it checks and its snapshots restore.
      await suedeOk(["check", vault, "--read-data"]);
    }
    const kept = (await snapshotsJson(vault)).map((s) => s.id);
    assert.ok(kept.includes(3), `snapshot 3 must survive: ${kept.join(",")}`);
    rmSync(filler);
    await suedeOk(["prune", vault]);
    await suedeOk(["check", vault, "--read-data"]);
    for (const id of (await snapshotsJson(vault)).map((s) => s.id)) {
      const target = join(work.path, `restore-${id}`);
      await suedeOk(["restore", vault, String(id), "--target", target]);
      const restored = readFileSync(join(target, sources[id - 1]!, "data.bin"));
      assert.ok(restored.equals(readFileSync(join(sources[id - 1]!, "data.bin"))), `snapshot ${id} restores byte-exact`);
    }
    t.diagnostic(`exit codes (no byte free, then 128 KiB free): ${outcomes.join("; ")}`);
  } finally {
    await runTool("umount", [mount]).catch(() => undefined);
    await work.remove();
  }
});
