// Goal: the daily run reads only what changed. Method: back up a tree through the library API, then
// change nothing / touch one file / move a directory, and assert bytesRead and the restored bytes.
import assert from "node:assert/strict";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FilePool } from "../src/backup/file-pool.ts";
import { InodeTable } from "../src/backup/inode-table.ts";
import { type BackupResult, SuedeVault } from "../src/index.ts";
import { Vault } from "../src/vault/vault.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const secret = { passphrase: "incremental" };

test("backup: unchanged files, and files in moved or renamed directories, are not read again", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-incr-"));
  try {
    const source = join(dir, "src");
    mkdirSync(join(source, "photos", "2024"), { recursive: true });
    mkdirSync(join(source, "docs"));
    const content = (n: number) => Buffer.alloc(300_000 + n, n);
    for (let i = 0; i < 5; i++) writeFileSync(join(source, "photos", "2024", `p${i}.jpg`), content(i));
    writeFileSync(join(source, "docs", "a.txt"), "alpha");
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      const first = await vault.backup({ paths: [source] });
      assert.equal(first.filesNew, 6);
      const unchanged = await vault.backup({ paths: [source] });
      assert.deepEqual([unchanged.bytesRead, unchanged.filesUnchanged, unchanged.parent], [0, 6, first.id]);

      appendFileSync(join(source, "docs", "a.txt"), "+beta");
      const touched = await vault.backup({ paths: [source] });
      assert.deepEqual([touched.filesChanged, touched.bytesRead], [1, "alpha+beta".length]);

      renameSync(join(source, "photos"), join(source, "pictures"));
      mkdirSync(join(source, "archive"));
      renameSync(join(source, "pictures", "2024"), join(source, "archive", "y2024"));
      const moved = await vault.backup({ paths: [source] });
      assert.equal(moved.bytesRead, 0, "moved files must not be read again");
      assert.ok(moved.bytesAdded < 10_000, `moving added ${moved.bytesAdded} bytes`);

      const target = join(dir, "restore");
      await vault.restore(moved.id!, { target });
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(readFileSync(join(target, source, "archive", "y2024", `p${i}.jpg`)), content(i));
      }
      assert.equal(readFileSync(join(target, source, "docs", "a.txt"), "utf8"), "alpha+beta");
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("backup: a directory renamed and edited in the same run keeps every change (old entries found by inode are only compared)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-incr-"));
  try {
    const source = join(dir, "src");
    mkdirSync(join(source, "docs", "sub"), { recursive: true });
    writeFileSync(join(source, "docs", "a.txt"), "alpha");
    writeFileSync(join(source, "docs", "b.txt"), "bravo");
    writeFileSync(join(source, "docs", "sub", "c.txt"), "charlie");
    symlinkSync("a.txt", join(source, "docs", "link"));
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      await vault.backup({ paths: [source] });
      renameSync(join(source, "docs"), join(source, "papers"));
      appendFileSync(join(source, "papers", "a.txt"), "+more");
      rmSync(join(source, "papers", "b.txt"));
      writeFileSync(join(source, "papers", "d.txt"), "delta");
      rmSync(join(source, "papers", "link"));
      symlinkSync("d.txt", join(source, "papers", "link"));
      const edited = await vault.backup({ paths: [source] });
      assert.deepEqual([edited.filesChanged, edited.filesNew, edited.filesUnchanged], [1, 1, 1]);
      assert.equal(edited.bytesRead, "alpha+more".length + "delta".length);

      const target = join(dir, "restore");
      await vault.restore(edited.id!, { target });
      const papers = join(target, source, "papers");
      assert.deepEqual(readdirSync(papers).sort(), ["a.txt", "d.txt", "link", "sub"]);
      assert.equal(readFileSync(join(papers, "a.txt"), "utf8"), "alpha+more");
      assert.equal(readFileSync(join(papers, "d.txt"), "utf8"), "delta");
      assert.equal(readFileSync(join(papers, "sub", "c.txt"), "utf8"), "charlie");
      assert.equal(readlinkSync(join(papers, "link")), "d.txt");
      assert.ok(!existsSync(join(target, source, "docs")));
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A new directory's subdirectories are listed ahead of the walk as new ones (backup.ts loadDirectory):
// one found there by inode, moved in from elsewhere, must still be compared with its old entries.
test("backup: a directory moved below several new directories is found by inode and not read again; a deep new tree is stored whole", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-incr-"));
  try {
    const source = join(dir, "src");
    const content = (n: number) => Buffer.alloc(70_000 + n, n + 1);
    mkdirSync(join(source, "old", "album", "inner"), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(source, "old", "album", `p${i}.jpg`), content(i));
    writeFileSync(join(source, "old", "album", "inner", "q.jpg"), content(9));
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      await vault.backup({ paths: [source] });
      const deepest = join(source, "new1", "new2", "new3");
      mkdirSync(deepest, { recursive: true });
      renameSync(join(source, "old", "album"), join(deepest, "album"));
      // A chain of 40 new levels, a file at each, beside it.
      let chain = join(source, "chain");
      for (let level = 0; level < 40; level++) {
        chain = join(chain, `l${level}`);
        mkdirSync(chain, { recursive: true });
        writeFileSync(join(chain, "f.txt"), `level ${level}`);
      }
      const moved = await vault.backup({ paths: [source] });
      assert.equal(moved.filesNew, 40, "only the chain's files are new");
      assert.equal(moved.bytesRead, Array.from({ length: 40 }, (_, level) => `level ${level}`.length).reduce((a, b) => a + b), "the moved files must not be read again");

      const target = join(dir, "restore");
      await vault.restore(moved.id!, { target });
      const album = join(target, deepest, "album");
      for (let i = 0; i < 3; i++) assert.deepEqual(readFileSync(join(album, `p${i}.jpg`)), content(i));
      assert.deepEqual(readFileSync(join(album, "inner", "q.jpg")), content(9));
      chain = join(target, source, "chain");
      for (let level = 0; level < 40; level++) {
        chain = join(chain, `l${level}`);
        assert.equal(readFileSync(join(chain, "f.txt"), "utf8"), `level ${level}`);
      }
      assert.deepEqual(readdirSync(join(target, source, "old")), []);
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A directory found moved after it was listed ahead as a new one is joined with its old entries
// (backup.ts takeDirectory, queueSubdirectories): every directory of the moved tree is compared as a
// listing, not decoded and rebuilt entry by entry (the moved step of the bench: 1,017 directories).
test("backup: every directory of a tree moved below new directories is joined with its old entries as a whole", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-incr-"));
  const unchangedListings: string[] = [];
  const record = (names: readonly Uint8Array[], match: { unchanged: boolean } | null): void => {
    if (match?.unchanged === true) unchangedListings.push(names.map((n) => Buffer.from(n).toString()).join(","));
  };
  const { listDirectory, matchListing } = FilePool.prototype;
  FilePool.prototype.listDirectory = async function (this: FilePool, ...args: Parameters<FilePool["listDirectory"]>) {
    const listing = await listDirectory.apply(this, args);
    if (!("error" in listing)) record(listing.names, listing.match);
    return listing;
  };
  FilePool.prototype.matchListing = function (this: FilePool, ...args: Parameters<FilePool["matchListing"]>) {
    const match = matchListing.apply(this, args);
    record(args[0].names, match);
    return match;
  };
  try {
    const source = join(dir, "src");
    const album = join(source, "old", "album");
    for (let d = 0; d < 6; d++) {
      mkdirSync(join(album, `d${d}`, "inner"), { recursive: true });
      writeFileSync(join(album, `d${d}`, `f${d}.txt`), `file ${d}`);
      writeFileSync(join(album, `d${d}`, "inner", `g${d}.txt`), `inner ${d}`);
    }
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      await vault.backup({ paths: [source] });
      const deepest = join(source, "new1", "new2");
      mkdirSync(deepest, { recursive: true });
      renameSync(album, join(deepest, "album"));
      unchangedListings.length = 0;
      const moved = await vault.backup({ paths: [source] });
      assert.deepEqual([moved.bytesRead, moved.filesUnchanged], [0, 12]);
      const expected = ["d0,d1,d2,d3,d4,d5"];
      for (let d = 0; d < 6; d++) expected.push(`f${d}.txt,inner`, `g${d}.txt`);
      for (const names of expected) assert.ok(unchangedListings.includes(names), `the moved directory listing ${names} was not joined with its old entries`);

      const target = join(dir, "restore");
      await vault.restore(moved.id!, { target });
      for (let d = 0; d < 6; d++) {
        assert.equal(readFileSync(join(target, deepest, "album", `d${d}`, "inner", `g${d}.txt`), "utf8"), `inner ${d}`);
      }
    } finally {
      await vault.close();
    }
  } finally {
    Object.assign(FilePool.prototype, { listDirectory, matchListing });
    rmSync(dir, { recursive: true, force: true });
  }
});

// The inode table (every tree part of the parent read, ~0.2 CPU-s on the usr tree) is built when the walk
// meets a new directory, once however many there are, and never for a new name the walk skips.
test("backup: the parent's inode table is built once for new directories, and not for an excluded new one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-incr-"));
  const { build } = InodeTable;
  let builds = 0;
  InodeTable.build = (...args: Parameters<typeof InodeTable.build>) => {
    builds++;
    return build.apply(InodeTable, args);
  };
  try {
    const source = join(dir, "src");
    mkdirSync(join(source, "a", "b"), { recursive: true });
    mkdirSync(join(source, "z"));
    writeFileSync(join(source, "a", "b", "f.txt"), "f");
    writeFileSync(join(source, "z", "g.txt"), "g");
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      await vault.backup({ paths: [source] });
      mkdirSync(join(source, "cache", "deep"), { recursive: true });
      writeFileSync(join(source, "cache", "deep", "tmp.bin"), "tmp");
      builds = 0;
      const skipped = await vault.backup({ paths: [source], excludes: ["cache/"] });
      assert.deepEqual([builds, skipped.filesNew, skipped.filesUnchanged], [0, 0, 2]);

      renameSync(join(source, "z"), join(source, "a", "b", "z2"));
      mkdirSync(join(source, "a", "new1"));
      mkdirSync(join(source, "new2"));
      builds = 0;
      const moved = await vault.backup({ paths: [source], excludes: ["cache/"] });
      assert.deepEqual([builds, moved.filesNew, moved.filesUnchanged, moved.bytesRead], [1, 0, 2, 0]);
    } finally {
      await vault.close();
    }
  } finally {
    InodeTable.build = build;
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A moved-directory re-run with the vault's blob reads counted: `make` fills the source for the first backup,
 * `move` changes it before the second; the reads are the second backup's.
 */
async function movedStepReads(make: (source: string) => void, move: (source: string) => void): Promise<{ moved: BackupResult; reads: number }> {
  const dir = mkdtempSync(join(tmpdir(), "suede-incr-"));
  const { getBlob } = Vault.prototype;
  let reads = 0;
  Vault.prototype.getBlob = function (this: Vault, ...args: Parameters<Vault["getBlob"]>) {
    reads++;
    return getBlob.apply(this, args);
  };
  try {
    const source = join(dir, "src");
    make(source);
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      await vault.backup({ paths: [source] });
      move(source);
      reads = 0;
      return { moved: await vault.backup({ paths: [source] }), reads };
    } finally {
      await vault.close();
    }
  } finally {
    Vault.prototype.getBlob = getBlob;
    rmSync(dir, { recursive: true, force: true });
  }
}

// The walk takes the tree parts the inode table's build read (InodeTable.takePart) instead of reading them again:
// the bench's moved step read the vault 3,626 times before, 2,818 after.
test("backup: after the inode table is built, the walk reads no parent tree part a second time", async () => {
  const { moved, reads } = await movedStepReads(
    (source) => {
      for (let d = 0; d < 10; d++) {
        mkdirSync(join(source, "old", "album", `d${d}`), { recursive: true });
        writeFileSync(join(source, "old", "album", `d${d}`, "f.txt"), `file ${d}`);
      }
    },
    (source) => {
      // "new" sorts before "old": the walk meets it (and builds the table) before it walks old/.
      mkdirSync(join(source, "new"));
      renameSync(join(source, "old", "album"), join(source, "new", "album"));
    },
  );
  assert.deepEqual([moved.bytesRead, moved.filesUnchanged], [0, 10]);
  // The parent snapshot, its 16 tree parts for the table (/, the temp dirs, src, old, album, d0…d9), the 4 the
  // walk read before it (/ down to src) and old's again for the table's look-up of album: 22–23 reads.
  // Reading album's 11 parts again made it 34.
  assert.ok(reads <= 24, `${reads} blob reads`);
});

// The other way round: the table's build takes the parts the walk read before it was asked for (the bench's
// moved step: 775 of the build's 2,398 reads).
test("backup: the inode table's build reads no parent tree part the walk read before it", async () => {
  const { moved, reads } = await movedStepReads(
    (source) => {
      for (let d = 0; d < 20; d++) {
        mkdirSync(join(source, "a", `d${d}`), { recursive: true });
        writeFileSync(join(source, "a", `d${d}`, "f.txt"), `file ${d}`);
      }
      mkdirSync(join(source, "b", "m"), { recursive: true });
      writeFileSync(join(source, "b", "m", "g.txt"), "moved");
    },
    (source) => {
      // The walk reads a/ and its 20 directories' parts, then b/, then meets the new c/ (the table).
      mkdirSync(join(source, "c"));
      renameSync(join(source, "b", "m"), join(source, "c", "m"));
    },
  );
  assert.deepEqual([moved.bytesRead, moved.filesUnchanged], [0, 21]);
  // The parent snapshot, the walk's parts down to b/ (/, the temp dirs, src, a, d0…d19, b), the table's only
  // one it has not seen (m) and b's again for the look-up of m. Reading them all again for the table made it 55.
  assert.ok(reads <= 34, `${reads} blob reads`);
});

test("backup: a file changed deep below unchanged directories is stored, and its siblings and ancestors' other entries are kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-incr-"));
  try {
    const source = join(dir, "src");
    mkdirSync(join(source, "a", "b", "c"), { recursive: true });
    writeFileSync(join(source, "top.txt"), "top");
    writeFileSync(join(source, "a", "one.txt"), "one");
    symlinkSync("one.txt", join(source, "a", "link"));
    writeFileSync(join(source, "a", "b", "two.txt"), "two");
    writeFileSync(join(source, "a", "b", "c", "deep.txt"), "deep");
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      const first = await vault.backup({ paths: [source] });
      const again = await vault.backup({ paths: [source] });
      assert.deepEqual([again.filesUnchanged, again.bytesRead, again.files], [4, 0, 4]);
      // Rewriting a file changes no directory's own metadata, so every ancestor lists as unchanged.
      writeFileSync(join(source, "a", "b", "c", "deep.txt"), "DEEP");
      const edited = await vault.backup({ paths: [source] });
      assert.deepEqual([edited.filesChanged, edited.filesUnchanged, edited.bytesRead], [1, 3, 4]);

      for (const [id, deep] of [[first.id!, "deep"], [edited.id!, "DEEP"]] as const) {
        const target = join(dir, `restore-${id}`);
        await vault.restore(id, { target });
        const root = join(target, source);
        assert.equal(readFileSync(join(root, "a", "b", "c", "deep.txt"), "utf8"), deep);
        assert.equal(readFileSync(join(root, "a", "b", "two.txt"), "utf8"), "two");
        assert.equal(readFileSync(join(root, "a", "one.txt"), "utf8"), "one");
        assert.equal(readlinkSync(join(root, "a", "link")), "one.txt");
        assert.equal(readFileSync(join(root, "top.txt"), "utf8"), "top");
      }
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("backup: a mode change alone (file and directory) below unchanged directories reaches the snapshot", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-incr-"));
  try {
    const source = join(dir, "src");
    mkdirSync(join(source, "a", "b"), { recursive: true });
    writeFileSync(join(source, "a", "b", "f.txt"), "same bytes");
    writeFileSync(join(source, "a", "g.txt"), "other");
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      await vault.backup({ paths: [source] });
      chmodSync(join(source, "a", "b", "f.txt"), 0o640);
      chmodSync(join(source, "a", "b"), 0o750);
      const changed = await vault.backup({ paths: [source] });
      const target = join(dir, "restore");
      await vault.restore(changed.id!, { target });
      assert.equal(statSync(join(target, source, "a", "b", "f.txt")).mode & 0o777, 0o640);
      assert.equal(statSync(join(target, source, "a", "b")).mode & 0o777, 0o750);
      assert.equal(readFileSync(join(target, source, "a", "b", "f.txt"), "utf8"), "same bytes");
      assert.equal(readFileSync(join(target, source, "a", "g.txt"), "utf8"), "other");
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("backup: a re-run's trees (unchanged entries copied from the parent's parts) are byte for byte those a run without a parent writes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-incr-"));
  try {
    const source = join(dir, "src");
    const empty = join(dir, "empty");
    mkdirSync(empty);
    // Directories of 3 and 40 entries (both msgpack array headers), files, symlinks, a FIFO, three levels.
    for (const sub of ["x", join("x", "y"), join("x", "y", "z"), "w"]) {
      mkdirSync(join(source, sub), { recursive: true });
      const count = sub === "w" ? 3 : 40;
      for (let i = 0; i < count; i++) writeFileSync(join(source, sub, `f${i}.txt`), `${sub} ${i}\n`);
      symlinkSync("f0.txt", join(source, sub, "link"));
    }
    spawnSync("mkfifo", [join(source, "x", "pipe")]);
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      await vault.backup({ paths: [source] });
      appendFileSync(join(source, "x", "y", "z", "f7.txt"), "more\n"); // a changed directory below listed-unchanged ones
      appendFileSync(join(source, "x", "f39.txt"), "more\n");
      chmodSync(join(source, "x", "y", "f3.txt"), 0o600);
      writeFileSync(join(source, "w", "new.txt"), "new\n"); // w's own metadata changes
      rmSync(join(source, "x", "y", "z", "f8.txt"));
      const rerun = await vault.backup({ paths: [source] });
      assert.equal(rerun.filesUnchanged, 40 * 3 + 3 - 1 - 3);
      // Other paths than the last snapshot's: no parent, every tree encoded from scratch.
      const fresh = await vault.backup({ paths: [source, empty] });
      assert.equal(fresh.filesUnchanged, 0);
      const subtree = async (id: number) => ((await vault.stat(id, source)).subtree ?? []).map((part) => Buffer.from(part).toString("hex"));
      assert.deepEqual(await subtree(rerun.id!), await subtree(fresh.id!));
      assert.equal((await vault.stat(rerun.id!, join(source, "x", "y", "f3.txt"))).mode & 0o777, 0o600);
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
