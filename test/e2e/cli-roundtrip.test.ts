// Goal: a backup → restore round trip through the built CLI reproduces a tricky tree exactly; method: generate it, run suede as a child process, compare trees by lstat/sha256 and rsync, mutate, back up again, and restore both snapshots.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { lstat, mkdir, stat, symlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type BackupJson, backupJson, initVault, lsJson, runTool, snapshotsJson, startSuede, suede, suedeOk, tempDir } from "../helpers/cli.ts";
import { compareTrees, rsyncDiff, walkPaths } from "../helpers/compare-trees.ts";
import { Prng } from "../helpers/prng.ts";
import { MUTATION, NON_UTF8_DIR, NON_UTF8_NAME, LONG_NAME, makeTrickyTree, mutateTree } from "../helpers/tricky-tree.ts";

const SEED = 20240611;
/** SUEDE_E2E_BIG=1 adds the 4.5 GiB sparse file (about a minute more). */
const BIG = process.env.SUEDE_E2E_BIG === "1";

describe("suede CLI round trip of a tricky tree", { timeout: BIG ? 600_000 : 120_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };
  let source: string;
  let vault: string;
  let original: string;
  let first: BackupJson;

  before(async () => {
    work = await tempDir("roundtrip");
    source = join(work.path, "src");
    vault = join(work.path, "vault.suede");
    original = join(work.path, "original-copy");
    await makeTrickyTree(source, { seed: SEED, big: BIG });
  });

  after(async () => {
    await work.remove();
  });

  const restoredPath = (target: string, path: string) => join(target, path);

  test("init creates a vault", async () => {
    await initVault(vault);
    assert.ok((await lstat(vault)).isFile());
  });

  test("backup of the tricky tree succeeds without skips or warnings", async () => {
    first = await backupJson(vault, [source], {}, ["--tag", "first", "--tag", "e2e"]);
    assert.equal(first.id, 1);
    assert.equal(first.parent, null);
    assert.deepEqual(first.skipped, []);
    assert.deepEqual(first.warnings, []);
    const regularFiles = (await Promise.all((await walkPaths(source)).map((p) => lstat(p)))).filter((s) => s.isFile()).length;
    assert.equal(first.files, regularFiles);
    assert.equal(first.filesNew, regularFiles);
    assert.equal(first.filesChanged + first.filesUnchanged, 0);
    assert.ok(first.bytesAdded > 3 * 1024 * 1024, `bytesAdded ${first.bytesAdded}`);
  });

  test("snapshots --json has the documented shape", async () => {
    const snapshots = await snapshotsJson(vault);
    assert.equal(snapshots.length, 1);
    const [snapshot] = snapshots;
    assert.ok(snapshot !== undefined);
    assert.equal(typeof snapshot.id, "number");
    assert.equal(snapshot.id, 1);
    assert.match(snapshot.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(new Date(snapshot.time).toISOString(), snapshot.time);
    assert.ok(Math.abs(Date.parse(snapshot.time) - Date.now()) < 10 * 60_000, `time ${snapshot.time} is not recent`);
    assert.equal(snapshot.host, hostname());
    assert.deepEqual(snapshot.paths, [source]);
    assert.deepEqual([...snapshot.tags].sort(), ["e2e", "first"]);
    assert.equal(snapshot.files, first.files);
  });

  test("ls -R --json lists every entry, raw names as pathBase64", async () => {
    const entries = await lsJson(vault, "1", source);
    const listed = new Set(entries.map((e) => e.bytes.toString("latin1")));
    const expected = await walkPaths(source);
    for (const path of expected) assert.ok(listed.has(path.toString("latin1")), `ls is missing ${JSON.stringify(path.toString("utf8"))}`);
    assert.equal(entries.length, expected.length);

    const names = Buffer.from(join(source, "names"));
    const odd = entries.find((e) => e.bytes.equals(Buffer.concat([names, Buffer.from("/"), NON_UTF8_NAME])));
    assert.ok(odd !== undefined, "the non-UTF-8 name is listed");
    assert.equal(odd.pathBase64, Buffer.concat([names, Buffer.from("/"), NON_UTF8_NAME]).toString("base64"));
    assert.equal(typeof odd.path, "string");
    const inside = entries.find((e) => e.bytes.equals(Buffer.concat([names, Buffer.from("/"), NON_UTF8_DIR, Buffer.from("/inside")])));
    assert.ok(inside?.pathBase64 !== undefined, "a file under a non-UTF-8 directory has pathBase64");
    // Valid UTF-8 paths come as plain text, NFC and NFD kept apart.
    for (const name of ["\u00e9", "e\u0301", LONG_NAME, "new\nline", "trailing space "]) {
      const entry = entries.find((e) => e.path === join(source, "names", name));
      assert.ok(entry !== undefined && entry.pathBase64 === undefined, `${JSON.stringify(name)} listed as text`);
    }
    const binaryLink = entries.find((e) => e.path === join(source, "links", "binary-target"));
    assert.equal(binaryLink?.type, "symlink");
    assert.deepEqual(Buffer.from(binaryLink.linkTargetBase64 ?? "", "base64"), Buffer.from([0x2e, 0x2e, 0x2f, 0xff, 0x0a, 0x20]));
    const old = entries.find((e) => e.path === join(source, "times", "before-1970"));
    assert.equal(old?.mtimeNs, (await lstat(join(source, "times", "before-1970"), { bigint: true })).mtimeNs.toString());
    assert.ok(old.mtime.startsWith("1966-"), old.mtime);
  });

  test(
    "ls --json mtime of a time before 1970 rounds down like the time itself",
    async () => {
      const entries = await lsJson(vault, "1", join(source, "times"), {}, false);
      for (const entry of entries) {
        const ns = BigInt(entry.mtimeNs);
        const floorMs = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
        assert.equal(entry.mtime, new Date(Number(floorMs)).toISOString(), `${entry.path} (mtimeNs ${entry.mtimeNs})`);
      }
    },
  );

  test("restore into an empty directory reproduces the tree exactly", async () => {
    const target = join(work.path, "restore-1");
    const result = await suedeOk(["restore", vault, "1", "--target", target, "--json"]);
    const summary = JSON.parse(result.stdout) as { files: number; failed: unknown[] };
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(await compareTrees(source, restoredPath(target, source)), []);
    assert.equal(await rsyncDiff(source, restoredPath(target, source)), "");
  });

  test("a second backup after mutation stores only the changes", async () => {
    await runTool("cp", ["-a", "--", source, original]);
    await mutateTree(source, SEED);
    const second = await backupJson(vault, [source]);
    assert.equal(second.id, 2);
    assert.equal(second.parent, 1);
    assert.deepEqual(second.skipped, []);
    // Changed: the appended and the overwritten file. New: the three added files, and perhaps the two files
    // under the renamed directory (new paths, but the same inodes: they may be recognised as unchanged).
    assert.equal(second.filesChanged, 2);
    assert.ok(second.filesNew >= 3 && second.filesNew <= 3 + 2, `filesNew ${second.filesNew}`);
    assert.equal(second.files, first.files - 3 + 3);
    assert.equal(second.filesUnchanged, second.files - second.filesNew - second.filesChanged);
    assert.ok(second.bytesAdded < 1024 * 1024, `bytesAdded ${second.bytesAdded} should be well under 1 MiB`);
    assert.ok(second.bytesAdded < first.bytesAdded / 4, `bytesAdded ${second.bytesAdded} vs first ${first.bytesAdded}`);
    assert.ok(second.bytesRead < first.bytesRead / 4, `unchanged files are not read again (read ${second.bytesRead})`);
  });

  test("snapshot 1 still restores the original tree", async () => {
    const target = join(work.path, "restore-1-again");
    await suedeOk(["restore", vault, "1", "--target", target]);
    assert.deepEqual(await compareTrees(original, restoredPath(target, source)), []);
    assert.equal(await rsyncDiff(original, restoredPath(target, source)), "");
  });

  test("snapshot 2 restores the mutated tree", async () => {
    const target = join(work.path, "restore-2");
    await suedeOk(["restore", vault, "latest", "--target", target]);
    assert.deepEqual(await compareTrees(source, restoredPath(target, source)), []);
    assert.equal(await rsyncDiff(source, restoredPath(target, source)), "");
  });

  test("a deleted file and directory are in snapshot 1 only; the renamed directory moved", async () => {
    const files1 = (await lsJson(vault, "1", join(source, "files"), {}, false)).map((e) => e.path);
    const files2 = (await lsJson(vault, "2", join(source, "files"), {}, false)).map((e) => e.path);
    assert.ok(files1.includes(join(source, MUTATION.deletedFile)));
    assert.ok(!files2.includes(join(source, MUTATION.deletedFile)));
    assert.ok(files2.includes(join(source, MUTATION.added[2])));
    const missing = await suede(["ls", vault, "2", join(source, MUTATION.deletedDir)]);
    assert.equal(missing.code, 1, missing.stderr);
    await suedeOk(["ls", vault, "1", join(source, MUTATION.deletedDir)]);
    const deep2 = (await lsJson(vault, "2", join(source, "deep", "l1"), {}, false)).map((e) => e.path);
    assert.ok(deep2.includes(join(source, MUTATION.renamedTo)) && !deep2.includes(join(source, MUTATION.renamedFrom)));
    const changed = (await lsJson(vault, "2", join(source, MUTATION.appended), {}, false))[0];
    assert.equal(changed?.size, 16385 + 10000);
  });

  test("check --read-data finds no problems", async () => {
    const result = await suedeOk(["check", vault, "--read-data", "--json"]);
    const report = JSON.parse(result.stdout) as { snapshots: number; problems: unknown[]; dataVerified: boolean };
    assert.equal(report.snapshots, 2);
    assert.deepEqual(report.problems, []);
    assert.equal(report.dataVerified, true);
  });
});

describe("sources in awkward places", { timeout: 120_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };

  before(async () => {
    work = await tempDir("places");
  });

  after(async () => {
    await work.remove();
  });

  test(
    "a source reached through a symlinked ancestor directory restores",
    async () => {
      const real = join(work.path, "real");
      await mkdir(join(real, "src", "sub"), { recursive: true });
      await writeFile(join(real, "src", "a.txt"), "through a link\n");
      await writeFile(join(real, "src", "sub", "b.bin"), new Prng(5).bytes(30_000));
      await symlink("real", join(work.path, "link"));
      const viaLink = join(work.path, "link", "src");
      const vault = join(work.path, "link-vault.suede");
      await initVault(vault);
      const backup = await backupJson(vault, [viaLink]);
      assert.equal(backup.files, 2);
      const listed = (await lsJson(vault, "1", viaLink)).map((e) => e.path).sort();
      assert.deepEqual(listed, [join(viaLink, "a.txt"), join(viaLink, "sub"), join(viaLink, "sub", "b.bin")]);
      const target = join(work.path, "link-restore");
      await suedeOk(["restore", vault, "1", "--target", target]);
      assert.deepEqual(await compareTrees(join(real, "src"), join(target, viaLink)), []);
    },
  );

  test(
    "backing up a directory that holds the vault itself terminates",
    async (t) => {
      const dir = join(work.path, "holds-vault");
      await mkdir(dir);
      await writeFile(join(dir, "data.bin"), new Prng(6).bytes(24 * 1024 * 1024));
      const vault = join(dir, "vault.suede");
      await initVault(vault);
      await suedeOk(["backup", vault, dir]);
      const sizeBefore = (await stat(vault)).size;
      const running = startSuede(["backup", vault, dir, "--json"]);
      let exited = false;
      void running.result.then(() => (exited = true));
      const deadline = Date.now() + 30_000;
      let runaway = false;
      while (!exited && Date.now() < deadline) {
        if (existsSync(vault) && (await stat(vault)).size > 3 * sizeBefore) {
          runaway = true;
          break;
        }
        await sleep(50);
      }
      if (!exited) running.kill("SIGKILL");
      const result = await running.result;
      t.diagnostic(`vault ${sizeBefore} bytes before, ${(await stat(vault)).size} after; exit ${result.code} ${result.signal ?? ""}`);
      assert.ok(!runaway, `the vault grew past three times its size (${sizeBefore} bytes) during one backup`);
      assert.ok(exited, "the backup finished within 30 s");
      assert.ok(result.code === 0 || result.code === 3, result.stderr);
    },
  );
});
