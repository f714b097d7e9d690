// Goal: a full disk ends a backup, prune or key add/passwd/remove with a clear error and loses nothing. Method: the vault lives on a
// 48 MiB tmpfs (root only); a backup that needs more fails with exit 1 and "no space", the earlier
// snapshot still checks and restores, retries do not grow the file, and after the tmpfs is enlarged
// the same backup succeeds.
import assert from "node:assert/strict";
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FAST_KDF, PASSPHRASE, initVault, isRoot, runTool, snapshotsJson, suede, suedeOk } from "../helpers/cli.ts";
import { noise, onTmpfs } from "../helpers/tmpfs.ts";

test("backup on a full disk: exit 1 with 'no space', vault intact, retry after freeing space works", { skip: !isRoot && "needs root to mount a tmpfs" }, async () => {
  await onTmpfs("suede-enospc-", "48m", async (work, mount) => {
    const vault = join(mount, "v.vault");
    const source = join(work, "src");
    mkdirSync(source);
    writeFileSync(join(source, "first.bin"), noise(1, 20 * 1024 * 1024));
    await initVault(vault);
    await suedeOk(["backup", vault, source]);
    const target1 = join(work, "restore-before");
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
  });
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

test("prune, forget --prune and key add/passwd/remove on a full disk: each succeeds or exits 1 with one 'no space' line, the vault stays at a commit that checks and restores, no temp or lock file is left, and after freeing space prune succeeds", { skip: !isRoot && "needs root to mount a tmpfs" }, async (t) => {
  await onTmpfs("suede-enospc-prune-", "24m", async (work, mount) => {
    const vault = join(mount, "v.vault");
    const sources = [1, 2, 3].map((i) => {
      const dir = join(work, `src${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, "data.bin"), noise(10 + i, 5 * 1024 * 1024));
      return dir;
    });
    await initVault(vault);
    for (const source of sources) await suedeOk(["backup", vault, source]);
    await suedeOk(["forget", vault, "1"]);
    // One extra secret per round for `key remove` to take away (run with that secret, it removes its own slot).
    const removable = ["second secret", "third secret"];
    for (const secret of removable) await suedeOk(["key", "add", vault, ...FAST_KDF], { env: { SUEDE_NEW_PASSPHRASE: secret } });
    const filler = fillUp(mount);
    const leftovers = () => readdirSync(mount).filter((name) => name !== "v.vault" && name !== "filler");
    const attempts = (round: number): { args: string[]; passphrase: string }[] => [
      { args: ["prune", vault], passphrase: PASSPHRASE },
      { args: ["forget", vault, "2", "--prune"], passphrase: PASSPHRASE },
      { args: ["key", "add", vault, ...FAST_KDF], passphrase: PASSPHRASE },
      { args: ["key", "passwd", vault, ...FAST_KDF], passphrase: PASSPHRASE },
      { args: ["key", "remove", vault], passphrase: removable[round]! },
    ];
    const outcomes: string[] = [];
    /** Runs one command and asserts the promise whatever its outcome; returns its exit code. */
    const attempt = async ({ args, passphrase }: { args: string[]; passphrase: string }): Promise<number | null> => {
      const result = await suede(args, { passphrase, env: { SUEDE_NEW_PASSPHRASE: PASSPHRASE } });
      if (result.code !== 0) {
        assert.equal(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stderr, /no space left/, args.join(" "));
        assert.equal(result.stderr.trim().split("\n").length, 1, `one-line error, got: ${result.stderr}`);
      }
      if (args[1] === "remove") {
        // A removed secret no longer opens the vault; a failed removal leaves it working.
        const opened = await suede(["snapshots", vault], { passphrase });
        assert.equal(opened.code, result.code === 0 ? 12 : 0, `key remove exit ${result.code}, then the removed secret: ${opened.stderr}`);
      }
      assert.deepEqual(leftovers(), [], `${args.join(" ")} left files behind`);
      // Whatever happened, the vault is at a commit: it checks and its snapshots restore.
      await suedeOk(["check", vault, "--read-data"]);
      return result.code;
    };
    const label = (args: string[]) => (args[0] === "key" ? `key ${args[1]}` : args[0]!);
    // First with not one byte free (even the lock cannot be written): each fails.
    for (const command of attempts(0)) outcomes.push(`${label(command.args)}: ${await attempt(command)}`);
    // Then each command is retried with 4 KiB more free space at a time until it succeeds, so it
    // runs out of space at successively later points of its work.
    for (const command of attempts(1)) {
      let failures = 0;
      for (;;) {
        truncateSync(filler, Math.max(0, statSync(filler).size - 4096));
        if ((await attempt(command)) === 0) break;
        failures++;
        assert.ok(failures < 64, `${command.args.join(" ")} still fails with 256 KiB free`);
      }
      outcomes.push(`${label(command.args)}: ${failures} failures before success`);
    }
    const kept = (await snapshotsJson(vault)).map((s) => s.id);
    assert.ok(kept.includes(3), `snapshot 3 must survive: ${kept.join(",")}`);
    rmSync(filler);
    await suedeOk(["prune", vault]);
    await suedeOk(["check", vault, "--read-data"]);
    for (const id of (await snapshotsJson(vault)).map((s) => s.id)) {
      const target = join(work, `restore-${id}`);
      await suedeOk(["restore", vault, String(id), "--target", target]);
      const restored = readFileSync(join(target, sources[id - 1]!, "data.bin"));
      assert.ok(restored.equals(readFileSync(join(sources[id - 1]!, "data.bin"))), `snapshot ${id} restores byte-exact`);
    }
    t.diagnostic(`no byte free, then 4 KiB more per retry: ${outcomes.join("; ")}`);
  });
});
