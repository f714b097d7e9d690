// Goal: every failure the CLI can meet ends with the documented exit code, a one-line message and an untouched vault; method: provoke each one against real vault files through child processes (signals, a second writer, an unprivileged user via setpriv).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, open, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FAST_KDF, backupJson, hasProgram, initVault, isRoot, sha256Of, snapshotsJson, startSuede, suede, suedeOk, tempDir } from "../helpers/cli.ts";
import { compareTrees, walkPaths } from "../helpers/compare-trees.ts";
import { Prng } from "../helpers/prng.ts";

const MiB = 1024 * 1024;

/** A failed command: the documented code, one line of stderr starting "suede: ", no stack trace. */
function assertCleanFailure(result: { code: number | null; stderr: string }, code: number, pattern?: RegExp): void {
  assert.equal(result.code, code, `exit code (stderr: ${result.stderr})`);
  const lines = result.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("suede: warning: KDF below"));
  assert.equal(lines.length, 1, `one line of stderr, got ${JSON.stringify(result.stderr)}`);
  assert.match(lines[0] ?? "", /^suede: /);
  assert.doesNotMatch(result.stderr, /\n\s+at |internal error|Error:/);
  if (pattern !== undefined) assert.match(result.stderr, pattern);
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** 200 MiB of random data in four files (slow enough to back up that a test can act meanwhile). */
async function makeBigSource(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < 4; i++) {
    const handle = await open(join(dir, `random-${i}.bin`), "w");
    try {
      for (let j = 0; j < 50; j++) await handle.write(randomBytes(MiB));
    } finally {
      await handle.close();
    }
  }
}

describe("suede CLI errors and exit codes", { timeout: 180_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };
  let vault: string;
  let source: string;

  before(async () => {
    work = await tempDir("errors");
    vault = join(work.path, "vault.suede");
    source = join(work.path, "src");
    const prng = new Prng(7);
    await mkdir(join(source, "keep", "deeper"), { recursive: true });
    await mkdir(join(source, "other"));
    await writeFile(join(source, "keep", "a.bin"), prng.bytes(70_000));
    await writeFile(join(source, "keep", "deeper", "b.txt"), "deeper\n");
    await writeFile(join(source, "other", "c.bin"), prng.bytes(20_000));
    await writeFile(join(source, "top.txt"), "top\n");
    await initVault(vault);
    await suedeOk(["backup", vault, source]);
  });

  after(async () => {
    await work.remove();
  });

  test("wrong passphrase: exit 12, one line, vault unchanged, no lock left", async () => {
    const before = await sha256Of(vault);
    const results = await Promise.all(
      [["snapshots", vault], ["backup", vault, source], ["check", vault, "--read-data"]].map((args) => suede(args, { passphrase: "not the passphrase" })),
    );
    for (const result of results) {
      assertCleanFailure(result, 12, /passphrase/i);
      assert.equal(result.stdout, "");
    }
    assert.equal(await sha256Of(vault), before);
    assert.ok(!existsSync(`${vault}.lock`), "a failed unlock releases the lock");
  });

  test("no passphrase source and stdin not a terminal: exit 2", async () => {
    const [result, init] = await Promise.all([
      suede(["snapshots", vault], { passphrase: null }),
      suede(["init", join(work.path, "never.suede"), ...FAST_KDF], { passphrase: null }),
    ]);
    assertCleanFailure(result, 2, /passphrase/);
    assert.equal(init.code, 2);
    assert.ok(!existsSync(join(work.path, "never.suede")), "no vault created without a passphrase");
  });

  test("passphrase sources: a file (newline stripped) wins over the environment; NFC and NFD spellings are one passphrase", async () => {
    const file = join(work.path, "passphrase.txt");
    await writeFile(file, "correct horse battery staple\r\n");
    const nfdVault = join(work.path, "nfd.suede");
    const [fromFile, missingFile] = await Promise.all([
      suede(["snapshots", vault, "--passphrase-file", file], { passphrase: "wrong" }),
      suede(["snapshots", vault, "--passphrase-file", join(work.path, "no-such-file")]),
      initVault(nfdVault, { passphrase: "cafe\u0301 cre\u0300me" }),
    ]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assertCleanFailure(missingFile, 2, /passphrase file/);
    const nfc = await suede(["snapshots", nfdVault], { passphrase: "caf\u00e9 cr\u00e8me" });
    assert.equal(nfc.code, 0, nfc.stderr);
  });

  test(
    "init refuses an empty passphrase from the environment or a file",
    async () => {
      const emptyFile = join(work.path, "empty-passphrase.txt");
      await writeFile(emptyFile, "\n");
      const [fromEnv, fromFile] = await Promise.all([
        suede(["init", join(work.path, "empty-env.suede"), ...FAST_KDF], { passphrase: "" }),
        suede(["init", join(work.path, "empty-file.suede"), "--passphrase-file", emptyFile, ...FAST_KDF]),
      ]);
      assert.equal(fromEnv.code, 2, "empty SUEDE_PASSPHRASE");
      assert.equal(fromFile.code, 2, "empty passphrase file");
      assert.ok(!existsSync(join(work.path, "empty-env.suede")) && !existsSync(join(work.path, "empty-file.suede")));
    },
  );

  test("vault not found: exit 10", async () => {
    const missing = join(work.path, "no-such.suede");
    const results = await Promise.all([["snapshots", missing], ["backup", missing, source], ["ls", missing, "1"], ["check", missing]].map((args) => suede(args)));
    for (const result of results) assertCleanFailure(result, 10, /not found/);
    assert.ok(!existsSync(missing), "backup does not create a missing vault");
  });

  test("a file of random bytes, or a directory, is not a vault: exit 13", async () => {
    const junk = join(work.path, "junk.suede");
    await writeFile(junk, new Prng(99).bytes(64 * 1024));
    const before = await sha256Of(junk);
    const empty = join(work.path, "empty.suede");
    await writeFile(empty, "");
    const results = await Promise.all([["snapshots", junk], ["backup", junk, source], ["snapshots", empty], ["snapshots", work.path]].map((args) => suede(args)));
    for (const result of results) assertCleanFailure(result, 13);
    assert.equal(await sha256Of(junk), before);
    assert.ok(!existsSync(`${junk}.lock`));
  });

  test("init over an existing file: exit 1, the file is unchanged", async () => {
    const existing = join(work.path, "existing.txt");
    await writeFile(existing, "precious\n");
    const vaultBefore = await sha256Of(vault);
    const [result, again] = await Promise.all([suede(["init", existing, ...FAST_KDF]), suede(["init", vault, ...FAST_KDF])]);
    assertCleanFailure(result, 1, /exist/);
    assert.equal(await readFile(existing, "utf8"), "precious\n");
    assert.equal(again.code, 1);
    assert.equal(await sha256Of(vault), vaultBefore);
  });

  test("a missing source path: exit 1 naming it, no new snapshot", async () => {
    const before = (await snapshotsJson(vault)).length;
    const missing = join(work.path, "gone-away");
    for (const paths of [[missing], [source, missing]]) {
      const result = await suede(["backup", vault, ...paths]);
      assertCleanFailure(result, 1);
      assert.ok(result.stderr.includes(missing), `stderr names ${missing}: ${result.stderr}`);
    }
    assert.equal((await snapshotsJson(vault)).length, before);
  });

  test("restore into a non-empty target: exit 1 unless --overwrite", async () => {
    const target = join(work.path, "busy-target");
    await mkdir(target);
    await writeFile(join(target, "already-here"), "mine\n");
    assertCleanFailure(await suede(["restore", vault, "1", "--target", target]), 1, /not empty/);
    assert.deepEqual(await readdir(target), ["already-here"]);
    // A file in the way of a restored file is replaced only with --overwrite.
    await mkdir(join(target, source), { recursive: true });
    await writeFile(join(target, source, "top.txt"), "stale\n");
    await suedeOk(["restore", vault, "1", "--target", target, "--overwrite"]);
    assert.equal(await readFile(join(target, source, "top.txt"), "utf8"), "top\n");
    assert.equal(await readFile(join(target, "already-here"), "utf8"), "mine\n");
    assert.deepEqual(await compareTrees(source, join(target, source)), []);
  });

  test("a target that is a file: exit 1", async () => {
    const file = join(work.path, "plain-file");
    await writeFile(file, "x");
    assertCleanFailure(await suede(["restore", vault, "1", "--target", file]), 1);
    assert.equal(await readFile(file, "utf8"), "x");
  });

  test("unknown snapshot: exit 1; a snapshot argument that is not a number: exit 2", async () => {
    const [restore99, ls99] = await Promise.all([suede(["restore", vault, "99", "--target", join(work.path, "t-99")]), suede(["ls", vault, "99"])]);
    assertCleanFailure(restore99, 1, /99/);
    assertCleanFailure(ls99, 1, /99/);
    assert.ok(!existsSync(join(work.path, "t-99")) || (await readdir(join(work.path, "t-99"))).length === 0);
    const [abc, zero, fraction, restoreAbc, noTarget, unknownCommand] = await Promise.all([
      suede(["ls", vault, "abc"]),
      suede(["ls", vault, "0"]),
      suede(["ls", vault, "1.5"]),
      suede(["restore", vault, "abc", "--target", join(work.path, "t-bad")]),
      suede(["restore", vault, "1"]),
      suede(["frobnicate", vault]),
    ]);
    for (const result of [abc, zero, fraction, restoreAbc]) assertCleanFailure(result, 2, /snapshot/);
    assert.equal(noTarget.code, 2, "restore without --target is a usage error");
    assert.equal(unknownCommand.code, 2, "an unknown command is a usage error");
    assert.ok(!existsSync(join(work.path, "t-bad")));
  });

  test("--include restores only that path (and its ancestors)", async () => {
    const target = join(work.path, "partial");
    await suedeOk(["restore", vault, "1", "--target", target, "--include", join(source, "keep")]);
    const restored = (await walkPaths(join(target, source))).map((p) => p.toString("utf8").slice(join(target, source).length));
    assert.deepEqual(restored.sort(), ["/keep", "/keep/a.bin", "/keep/deeper", "/keep/deeper/b.txt"]);
    assert.deepEqual(await compareTrees(join(source, "keep"), join(target, source, "keep")), []);
    const single = join(work.path, "partial-file");
    await suedeOk(["restore", vault, "1", "--target", single, "--include", join(source, "other", "c.bin")]);
    const one = (await walkPaths(join(single, source))).map((p) => p.toString("utf8").slice(join(single, source).length));
    assert.deepEqual(one.sort(), ["/other", "/other/c.bin"]);
    assert.equal(await sha256Of(join(single, source, "other", "c.bin")), await sha256Of(join(source, "other", "c.bin")));
  });

  test(
    "--include of a path that is not in the snapshot fails",
    async () => {
      const [absent, relative] = await Promise.all([
        suede(["restore", vault, "1", "--target", join(work.path, "include-absent"), "--include", join(source, "no-such-entry")]),
        suede(["restore", vault, "1", "--target", join(work.path, "include-relative"), "--include", "top.txt"]),
      ]);
      assertCleanFailure(absent, 1, /no-such-entry/);
      assert.notEqual(relative.code, 0, "a relative --include path is refused or reported");
    },
  );

  describe("with a 200 MiB source", () => {
    let big: string;
    let cancelled: { sizeAtSignal: number; sizeAtExit: number; ms: number } | null = null;
    before(async () => {
      big = join(work.path, "big");
      await makeBigSource(big);
    });

    test("a second writer while the first holds the lock: exit 11; the first completes", async () => {
      const before = (await snapshotsJson(vault)).length;
      const firstWriter = startSuede(["backup", vault, big, "--json"]);
      let second: Awaited<ReturnType<typeof suede>>;
      let reader: Awaited<ReturnType<typeof suede>>;
      try {
        await waitFor(() => existsSync(`${vault}.lock`), "the first backup to take the lock");
        second = await suede(["backup", vault, source]);
        // Readers do not need the lock.
        reader = await suede(["snapshots", vault]);
      } catch (error) {
        firstWriter.kill("SIGKILL");
        throw error;
      }
      const firstResult = await firstWriter.result;
      assertCleanFailure(second, 11, /locked/);
      assert.equal(reader.code, 0, reader.stderr);
      assert.equal(firstResult.code, 0, firstResult.stderr);
      assert.equal((JSON.parse(firstResult.stdout) as { id: number }).id, before + 1);
      assert.ok(!existsSync(`${vault}.lock`), "the lock is released");
      assert.equal((await snapshotsJson(vault)).length, before + 1);
      await suedeOk(["check", vault]);
    });

    test("SIGINT during a backup: exit 130, the vault stays at its last snapshot and works on", async (t) => {
      const cancelVault = join(work.path, "cancel.suede");
      await initVault(cancelVault);
      await suedeOk(["backup", cancelVault, source]);
      const sizeBefore = (await stat(cancelVault)).size;
      const running = startSuede(["backup", cancelVault, big]);
      await waitFor(async () => (await stat(cancelVault)).size > sizeBefore + 20 * MiB, "the backup to write 20 MiB").catch((error: unknown) => {
        running.kill("SIGKILL");
        throw error;
      });
      const signalled = Date.now();
      const sizeAtSignal = (await stat(cancelVault)).size;
      running.kill("SIGINT");
      const result = await running.result;
      cancelled = { sizeAtSignal, sizeAtExit: (await stat(cancelVault)).size, ms: Date.now() - signalled };
      t.diagnostic(`SIGINT at ${sizeAtSignal} bytes; exit after ${cancelled.ms} ms at ${cancelled.sizeAtExit} bytes`);
      assert.equal(result.code, 130, `exit code 130 (stderr: ${result.stderr})`);
      assert.doesNotMatch(result.stderr, /\n\s+at |internal error/);
      assert.ok(!existsSync(`${cancelVault}.lock`), "the lock is released");
      assert.deepEqual((await snapshotsJson(cancelVault)).map((s) => s.id), [1]);
      await suedeOk(["check", cancelVault, "--read-data"]);
      // Blobs written before the cancel were never committed: the next backup must store them again.
      const oneFile = join(big, "random-0.bin");
      const next = await backupJson(cancelVault, [oneFile]);
      assert.equal(next.id, 2);
      assert.ok(next.bytesAdded >= 50 * MiB, `bytesAdded ${next.bytesAdded}`);
      assert.deepEqual((await snapshotsJson(cancelVault)).map((s) => s.id), [1, 2]);
      const target = join(work.path, "after-cancel");
      await suedeOk(["restore", cancelVault, "2", "--target", target]);
      assert.equal(await sha256Of(join(target, oneFile)), await sha256Of(oneFile));
      await suedeOk(["check", cancelVault, "--read-data"]);
    });

    test(
      "SIGINT stops a running backup promptly",
      () => {
        assert.ok(cancelled !== null, "the SIGINT test ran");
        assert.ok(
          cancelled.sizeAtExit - cancelled.sizeAtSignal < 64 * MiB,
          `the vault took in ${cancelled.sizeAtExit - cancelled.sizeAtSignal} more bytes in the ${cancelled.ms} ms after SIGINT`,
        );
      },
    );

    test("SIGKILL during a backup: the stale lock is taken over and the vault stays consistent", async () => {
      const killVault = join(work.path, "kill.suede");
      await initVault(killVault);
      await suedeOk(["backup", killVault, source]);
      const sizeBefore = (await stat(killVault)).size;
      const running = startSuede(["backup", killVault, big]);
      await waitFor(async () => (await stat(killVault)).size > sizeBefore + 20 * MiB, "the backup to write 20 MiB").catch((error: unknown) => {
        running.kill("SIGKILL");
        throw error;
      });
      running.kill("SIGKILL");
      assert.equal((await running.result).signal, "SIGKILL");
      assert.ok(existsSync(`${killVault}.lock`), "a killed writer leaves its lock file");
      await suedeOk(["check", killVault, "--read-data"]);
      const next = await backupJson(killVault, [source]);
      assert.equal(next.id, 2);
      assert.ok(!existsSync(`${killVault}.lock`));
      assert.deepEqual((await snapshotsJson(killVault)).map((s) => s.id), [1, 2]);
      const target = join(work.path, "after-kill");
      await suedeOk(["restore", killVault, "2", "--target", target]);
      assert.deepEqual(await compareTrees(source, join(target, source)), []);
    });
  });

  test("files unreadable to the user running suede: exit 3 naming them; the rest restores exactly", async (t) => {
    if (!isRoot) return t.skip("needs root to create files another user cannot read");
    if (!(await hasProgram("setpriv"))) return t.skip("setpriv is not installed");
    const nobody = 65534;
    const area = join(work.path, "unprivileged");
    await mkdir(area);
    await chmod(work.path, 0o755);
    await chmod(area, 0o755);
    const home = join(area, "home");
    await mkdir(home);
    await chown(home, nobody, nobody);
    const src = join(area, "src");
    const prng = new Prng(65534);
    await mkdir(join(src, "sub"), { recursive: true });
    await mkdir(join(src, "closed-dir"));
    await writeFile(join(src, "readable.bin"), prng.bytes(300_000));
    await writeFile(join(src, "sub", "also-readable.txt"), "fine\n");
    await writeFile(join(src, "secret.txt"), "root only\n");
    await writeFile(join(src, "closed-dir", "hidden.txt"), "cannot be listed\n");
    await chmod(join(src, "secret.txt"), 0o600);
    await chmod(join(src, "closed-dir"), 0o700);
    for (const dir of [src, join(src, "sub")]) await chmod(dir, 0o755);

    const userVault = join(home, "vault.suede");
    await initVault(userVault, { asUser: nobody });
    const result = await suede(["backup", userVault, src, "--json"], { asUser: nobody });
    assert.equal(result.code, 3, `exit 3 (stderr: ${result.stderr})`);
    const summary = JSON.parse(result.stdout) as { id: number; skipped: string[]; files: number };
    assert.equal(summary.id, 1);
    assert.deepEqual([...summary.skipped].sort(), [join(src, "closed-dir"), join(src, "secret.txt")]);
    assert.ok(result.stderr.includes(join(src, "secret.txt")), `stderr names secret.txt: ${result.stderr}`);
    assert.ok(result.stderr.includes(join(src, "closed-dir")), `stderr names closed-dir: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /\n\s+at |internal error/);
    const snapshots = await snapshotsJson(userVault, { asUser: nobody });
    assert.equal(snapshots.length, 1, "the snapshot was saved");

    const target = join(area, "restored");
    const restore = await suede(["restore", userVault, "1", "--target", target]);
    // Entries that could not be read are reported by restore and make it exit 1; everything else is restored.
    assert.equal(restore.code, 1, restore.stderr);
    assert.ok(restore.stderr.includes("secret.txt"), restore.stderr);
    const back = join(target, src);
    assert.equal(await sha256Of(join(back, "readable.bin")), await sha256Of(join(src, "readable.bin")));
    assert.equal(await readFile(join(back, "sub", "also-readable.txt"), "utf8"), "fine\n");
    assert.ok(!existsSync(join(back, "secret.txt")), "an unreadable file is not restored as an empty file");
    assert.ok(!existsSync(join(back, "closed-dir", "hidden.txt")));
    await suedeOk(["check", userVault, "--read-data"], { asUser: nobody });
  });
});
