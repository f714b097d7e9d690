// Goal: an I/O error from the disk (EIO) fails the command cleanly and loses nothing. Method: the vault,
// the sources or the restore target live on eio-fs.ts, a FUSE passthrough in its own child process that
// answers chosen writes, fsyncs or reads with EIO; the built CLI runs against it. After each fault the
// disk is healed and the vault must open at a commit, check clean (reading data), restore every
// committed snapshot byte-exact and take the same command again.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { type RunResult, PASSPHRASE, initVault, lsJson, snapshotsJson, suede, suedeOk } from "../helpers/cli.ts";
import { compareTrees } from "../helpers/compare-trees.ts";
import { Prng } from "../helpers/prng.ts";
import { SKIP_EIO_FS, startEioFs } from "./eio-fs.ts";
import { CommittedSnapshots, faultSeed, makeTree, scratchDir } from "./harness.ts";

const TIMEOUT = { timeout: 600_000, skip: SKIP_EIO_FS };
const SECRET = { passphrase: PASSPHRASE };

/** Exit 1 and exactly one stderr line that names the I/O error. */
function assertIoFailure(result: RunResult, what: string): void {
  assert.equal(result.code, 1, `${what}: exit ${result.code}, stderr: ${result.stderr}`);
  assert.equal(result.stderr.trim().split("\n").length, 1, `${what}: one-line error, got: ${result.stderr}`);
  assert.match(result.stderr, /I\/O error/i, what);
}

/**
 * The fixture of these tests: a printed seed and a scratch dir with a backing dir served by eio-fs
 * at `mount`; unmounted, then removed, after the test (removing first would reach through the mount).
 */
async function eioDisk(t: { diagnostic: (message: string) => void; after: (fn: () => Promise<void>) => void }, prefix: string) {
  const seed = faultSeed();
  t.diagnostic(`seed ${seed}`);
  const dir = await scratchDir(prefix);
  const backing = join(dir.path, "backing");
  mkdirSync(backing);
  const disk = await startEioFs(backing, join(dir.path, "disk"));
  t.after(async () => {
    await disk.stop();
    dir.remove();
  });
  return { seed, dir: dir.path, disk, mount: disk.mountpoint };
}

test("EIO while a backup writes or fsyncs the vault: exit 1 naming the I/O error; healed, the vault is at a commit, checks, restores every snapshot byte-exact and the backup reruns", TIMEOUT, async (t) => {
  const { seed, dir, disk, mount } = await eioDisk(t, "eio-backup");
  const vault = join(mount, "v.vault");
  const sources = [0, 1].map((i) => {
    const root = join(dir, `src${i}`);
    makeTree(root, new Prng(seed + i), { files: 24, maxFileBytes: 128 * 1024 });
    return root;
  });
  await initVault(vault);
  await suedeOk(["backup", vault, sources[0]!]);
  const committed = new CommittedSnapshots(dir, SECRET);
  await committed.verify(vault, "first backup", { readData: true });

  // How much a backup of src1 writes and how often it syncs, measured on a fresh vault beside it;
  // the last write fault lands in its final 8 KiB (index, checkpoint and superblock writes).
  const probeVault = join(mount, "probe.vault");
  await initVault(probeVault);
  const before = await disk.stats();
  await suedeOk(["backup", probeVault, sources[1]!]);
  const after = await disk.stats();
  const writtenBytes = (after.writtenBytes["/probe.vault"] ?? 0) - (before.writtenBytes["/probe.vault"] ?? 0);
  const fsyncCount = (after.fsyncs["/probe.vault"] ?? 0) - (before.fsyncs["/probe.vault"] ?? 0);
  rmSync(join(dir, "backing", "probe.vault"));
  t.diagnostic(`a backup of src1 writes ${writtenBytes} bytes with ${fsyncCount} fsyncs`);
  assert.ok(fsyncCount >= 2, "a commit syncs data before its pointer");

  const faults = [
    ...[0, 4096, Math.floor(writtenBytes / 2), writtenBytes - 8192].map((afterBytes) => ({ failWrites: { path: "/v.vault", afterBytes } })),
    ...Array.from({ length: fsyncCount }, (_, after) => ({ failFsync: { path: "/v.vault", after } })),
  ];
  type Fault = (typeof faults)[number];
  const backupWith = async (fault: Fault) => {
    await disk.set(fault);
    const result = await suede(["backup", vault, sources[1]!]);
    const fired = (await disk.stats()).failed > 0;
    await disk.set({ clear: true });
    return { result, fired };
  };
  const forgetNewest = async () => {
    const newest = Math.max(...committed.sources.keys());
    await suedeOk(["forget", vault, String(newest), "--prune"]);
    committed.sources.delete(newest);
  };
  let committedByFailed = 0;
  for (let fault of faults) {
    let { result, fired } = await backupWith(fault);
    // What a backup writes varies by a few KiB from run to run (record boundaries follow how work is
    // split between the workers), so a fault aimed at its last 8 KiB may miss: the backup then
    // committed; undo it and aim 8 KiB earlier.
    for (let retry = 0; !fired && result.code === 0 && "failWrites" in fault && retry < 4; retry++) {
      await committed.verify(vault, `${JSON.stringify(fault)} missed`, { readData: true });
      await forgetNewest();
      fault = { failWrites: { ...fault.failWrites, afterBytes: Math.max(0, fault.failWrites.afterBytes - 8192) } };
      ({ result, fired } = await backupWith(fault));
    }
    const what = JSON.stringify(fault);
    assert.ok(fired, `${what} must hit the backup (exit ${result.code})`);
    assertIoFailure(result, what);
    if (fault === faults[0]) t.diagnostic(`stderr: ${result.stderr.trim()}`);
    // A failed last fsync may leave the new commit on the disk: the vault is at one commit or the other.
    await committed.verify(vault, what, { readData: true });
    if (committed.sources.size === 2) {
      committedByFailed++;
      // Back to one snapshot, so each fault meets a backup that has data to write.
      await forgetNewest();
    }
  }
  t.diagnostic(`${faults.length} faults; ${committedByFailed} failed backups had reached their commit`);
  await suedeOk(["backup", vault, sources[1]!]);
  await committed.verify(vault, "rerun", { readData: true });
  assert.equal(committed.sources.size, 2);
});

test("EIO while prune relocates, commits or truncates: exit 1 naming the I/O error; healed, the vault checks, the kept snapshots restore byte-exact and prune reruns", TIMEOUT, async (t) => {
  const { seed, dir, disk, mount } = await eioDisk(t, "eio-prune");
  const vault = join(mount, "v.vault");
  // Each snapshot adds a unique tree next to a shared one, so forgetting one leaves regions that are
  // part garbage, part live: prune must relocate.
  const shared = join(dir, "shared");
  makeTree(shared, new Prng(seed), { files: 16, maxFileBytes: 64 * 1024 });
  const sources = [0, 1, 2].map((i) => {
    const root = join(dir, `src${i}`);
    makeTree(join(root, "own"), new Prng(seed + 1 + i), { files: 16, maxFileBytes: 96 * 1024 });
    return root;
  });
  await initVault(vault);
  const committed = new CommittedSnapshots(dir, SECRET);
  for (const source of sources) {
    await suedeOk(["backup", vault, source]);
    await committed.verify(vault, `backup ${source}`);
  }
  await suedeOk(["forget", vault, "1"]);
  committed.sources.delete(1);

  const faults = [
    { failWrites: { path: "/v.vault", afterBytes: 0 } },
    { failWrites: { path: "/v.vault", afterBytes: 64 * 1024 } },
    { failFsync: { path: "/v.vault", after: 0 } },
    { failFsync: { path: "/v.vault", after: 1 } },
  ];
  let failures = 0;
  for (const fault of faults) {
    const what = JSON.stringify(fault);
    await disk.set(fault);
    const result = await suede(["prune", vault]);
    const fired = (await disk.stats()).failed > 0;
    await disk.set({ clear: true });
    if (fired) {
      assertIoFailure(result, what);
      failures++;
    } else assert.equal(result.code, 0, `${what}: ${result.stderr}`);
    await committed.verify(vault, what, { readData: true });
    if (!fired) break; // prune finished: nothing left for later faults to hit
  }
  t.diagnostic(`${failures} of ${faults.length} faults hit a prune`);
  assert.ok(failures >= 1, "at least one fault hit the prune");
  await suedeOk(["prune", vault]);
  await committed.verify(vault, "prune rerun", { readData: true });
  assert.deepEqual((await snapshotsJson(vault)).map((s) => s.id), [2, 3]);
});

test("a source file that fails with EIO: backup names it, exits 3, and every other file of the snapshot restores byte-exact", TIMEOUT, async (t) => {
  const { seed, dir, disk, mount } = await eioDisk(t, "eio-source");
  const source = join(mount, "src");
  makeTree(source, new Prng(seed), { files: 12, maxFileBytes: 64 * 1024 });
  const bad = "/src/d0/bad.bin";
  mkdirSync(join(mount, "src", "d0"), { recursive: true });
  writeFileSync(join(mount, bad), new Prng(seed + 9).bytes(200 * 1024));
  const vault = join(dir, "v.vault");
  await initVault(vault);
  await disk.set({ failReads: { path: bad, afterBytes: 0 } });
  const result = await suede(["backup", vault, source]);
  assert.equal(result.code, 3, result.stderr);
  t.diagnostic(`backup stderr: ${result.stderr.trim()}`);
  assert.ok(result.stderr.includes(join(mount, bad)), `the unreadable path is named: ${result.stderr}`);
  assert.match(result.stderr, new RegExp(`^suede: warning: skipped ${join(mount, bad)}: i/o error \\(EIO\\)$`, "m"));

  await suedeOk(["check", vault, "--read-data"]);
  const entry = (await lsJson(vault, "latest")).find((e) => e.path === join(mount, bad));
  assert.ok(entry === undefined || entry.unreadable !== undefined, "the unreadable file is not stored with made-up bytes");
  const target = join(dir, "restored");
  const restore = await suede(["restore", vault, "latest", "--target", target]);
  // The unreadable file has no bytes to restore (restore names it, exit 1); every other file is exact.
  // Bytes are compared with the backing directory: times seen through FUSE are only millisecond-exact.
  assert.equal(restore.code, 1, restore.stderr);
  assert.ok(restore.stderr.includes(join(mount, bad)), restore.stderr);
  const files = (root: string) =>
    (readdirSync(root, { recursive: true }) as string[]).filter((name) => statSync(join(root, name)).isFile()).sort();
  const backingSource = join(dir, "backing", "src");
  const expected = files(backingSource).filter((name) => `/src/${name}` !== bad);
  assert.deepEqual(files(join(target, source)), expected);
  for (const name of expected) assert.ok(readFileSync(join(target, source, name)).equals(readFileSync(join(backingSource, name))), `${name} restores byte-exact`);
});

test("a restore target that fails with EIO: exit 1; each entry not restored is named once, on its own line, with the I/O error; every file written is byte-exact", TIMEOUT, async (t) => {
  const { seed, dir, disk, mount } = await eioDisk(t, "eio-target");
  const source = join(dir, "src");
  makeTree(source, new Prng(seed), { files: 12, maxFileBytes: 64 * 1024 });
  const vault = join(dir, "v.vault");
  await initVault(vault);
  await suedeOk(["backup", vault, source]);
  for (const afterBytes of [0, 100 * 1024]) {
    const name = `target-${afterBytes}`;
    const target = join(mount, name);
    await disk.set({ failWrites: { path: `/${name}`, afterBytes } });
    const result = await suede(["restore", vault, "1", "--target", target]);
    await disk.set({ clear: true });
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split("\n");
    t.diagnostic(`${afterBytes} bytes allowed: ${lines.length - 1} entries failed; first: ${lines[0]}`);
    const failed = lines.slice(0, -1).map((line) => {
      const match = /^suede: error: cannot write (\S+): i\/o error \(EIO\)$/.exec(line);
      assert.ok(match !== null, `one entry, its path once and the I/O error: ${line}`);
      return match[1]!;
    });
    assert.match(lines.at(-1)!, new RegExp(`^suede: ${failed.length} entr(y was|ies were) not restored`));
    assert.ok(failed.length > 0);
    // Whatever reached the disk is right: a file restored in full is byte-exact, and none that
    // failed is left looking complete.
    const written = join(dir, "backing", name, source);
    const restored = existsSync(written) ? (readdirSync(written, { recursive: true }) as string[]).filter((f) => statSync(join(written, f)).isFile()) : [];
    for (const file of restored) {
      const path = join(target, source, file);
      const bytes = readFileSync(join(written, file));
      if (failed.includes(path)) assert.ok(!bytes.equals(readFileSync(join(source, file))) || bytes.byteLength === 0, `${file} failed yet looks complete`);
      else assert.ok(bytes.equals(readFileSync(join(source, file))), `${file} restores byte-exact`);
    }
  }
});

test("EIO while reading the vault: check and ls exit 1 with one line naming the I/O error, restore names each entry it could not read; healed, all work again", TIMEOUT, async (t) => {
  const { seed, dir, disk, mount } = await eioDisk(t, "eio-read");
  const source = join(dir, "src");
  makeTree(source, new Prng(seed), { files: 8, maxFileBytes: 64 * 1024 });
  const vault = join(mount, "v.vault");
  await initVault(vault);
  await suedeOk(["backup", vault, source]);
  const commands = [
    ["restore", vault, "1", "--target", join(dir, "out")],
    ["check", vault, "--read-data"],
    ["ls", vault, "1", "-R"],
  ];
  // Reads fail from the first byte (the header, at open), then from half-way through what the
  // command reads when the disk is healthy (snapshot, trees, data).
  for (const args of commands) {
    const before = (await disk.stats()).readBytes["/v.vault"] ?? 0;
    await suedeOk(args);
    rmSync(join(dir, "out"), { recursive: true, force: true });
    const readBytes = ((await disk.stats()).readBytes["/v.vault"] ?? 0) - before;
    for (const afterBytes of [0, Math.floor(readBytes / 2)]) {
      await disk.set({ failReads: { path: "/v.vault", afterBytes } });
      const result = await suede(args);
      await disk.set({ clear: true });
      const what = `${args[0]} with reads failing after ${afterBytes} of ${readBytes} bytes`;
      t.diagnostic(`${what}: exit ${result.code}: ${result.stderr.trim().split("\n")[0]}`);
      if (args[0] === "restore" && afterBytes > 0) {
        // Restore goes on past an unreadable record (as past a damaged one): one line per entry.
        assert.equal(result.code, 1, `${what}: ${result.stderr}`);
        const lines = result.stderr.trim().split("\n");
        for (const line of lines.slice(0, -1)) assert.match(line, /^suede: error: \S+: I\/O error while reading \S+ at offset \d+: /, what);
        assert.match(lines.at(-1)!, /^suede: \d+ entr(y was|ies were) not restored/, what);
      } else assertIoFailure(result, what);
      // An unreadable disk is not reported as a damaged vault.
      assert.doesNotMatch(result.stdout, /damaged/, what);
      rmSync(join(dir, "out"), { recursive: true, force: true });
    }
  }
  // One bad sector in the middle of the log (data records fill most of it): check stops with the I/O
  // error instead of calling the vault damaged; restore names the entries it could not read and
  // writes every other file byte-exact.
  const sizeBytes = statSync(join(dir, "backing", "v.vault")).size;
  const sector = { path: "/v.vault", offset: Math.floor(sizeBytes / 2 / 512) * 512, lengthBytes: 512 };
  await disk.set({ badRange: sector });
  const check = await suede(["check", vault, "--read-data"]);
  assertIoFailure(check, "check over a bad sector");
  assert.doesNotMatch(check.stdout, /damaged/);
  const restore = await suede(commands[0]!);
  await disk.set({ clear: true });
  assert.equal(restore.code, 1, restore.stderr);
  const lost = restore.stderr.trim().split("\n").slice(0, -1).map((line) => {
    const match = /^suede: error: (\S+): I\/O error while reading \S+ at offset (\d+): /.exec(line);
    assert.ok(match !== null, line);
    return relative(join(dir, "out", source), match[1]!);
  });
  t.diagnostic(`a bad sector at ${sector.offset} of ${sizeBytes}: restore lost ${lost.join(", ")}`);
  for (const name of readdirSync(source, { recursive: true }) as string[]) {
    if (!statSync(join(source, name)).isFile() || lost.some((l) => name === l || name.startsWith(`${l}/`))) continue;
    assert.ok(readFileSync(join(dir, "out", source, name)).equals(readFileSync(join(source, name))), `${name} restores byte-exact past the bad sector`);
  }
  rmSync(join(dir, "out"), { recursive: true, force: true });

  for (const args of commands) await suedeOk(args);
  assert.deepEqual(await compareTrees(source, join(dir, "out", source)), []);
});
