// Goal: listings made while the vault unlocks (SuedeVault.prepareBackup) are exactly what the walk
// would list, are used by the backup, and give the same snapshot. Method: a small tree with nested
// and non-UTF-8 directories and a symlink to a directory; compare with listDirectorySync, then back
// up through the API with and without the preparation and restore.
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SuedeVault } from "../src/index.ts";
import { Prelister } from "../src/backup/prelist.ts";
import { unpackListing } from "../src/backup/listing-codec.ts";
import { listDirectorySync } from "../src/fs/node-source-fs.ts";
import { compareTrees } from "./helpers/compare-trees.ts";
import { NON_UTF8_DIR } from "./helpers/tricky-tree.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const secret = { passphrase: "prelist" };

function makeTree(root: string): Buffer[] {
  const odd = Buffer.concat([Buffer.from(`${root}/a/`), NON_UTF8_DIR]);
  mkdirSync(join(root, "a", "b", "c"), { recursive: true });
  mkdirSync(odd);
  mkdirSync(join(root, "z"));
  writeFileSync(join(root, "a", "b", "c", "deep.txt"), "deep");
  writeFileSync(Buffer.concat([odd, Buffer.from("/f")]), "odd");
  writeFileSync(join(root, "z", "last"), Buffer.alloc(70_000, 7));
  symlinkSync(join(root, "a"), join(root, "link-to-a"));
  return [root, join(root, "a"), join(root, "a", "b"), join(root, "a", "b", "c"), join(root, "z")].map((p) => Buffer.from(p)).concat([odd]);
}

test("prelist: every directory listed once, as listDirectorySync lists it; symlinks are not followed", async () => {
  const root = mkdtempSync(join(tmpdir(), "suede-prelist-"));
  try {
    const dirs = makeTree(root);
    const prelister = new Prelister([Buffer.from(root)], false);
    await sleep(500); // a few slices: the tree is tiny
    assert.equal(prelister.held, dirs.length);
    for (const dir of dirs) {
      const packed = prelister.take(dir);
      assert.notEqual(packed, null, `${dir.toString("latin1")} was not listed`);
      assert.deepEqual(unpackListing(packed!), listDirectorySync(dir));
      assert.equal(prelister.take(dir), null, "a listing is handed out once");
    }
    assert.equal(prelister.take(Buffer.from(join(root, "link-to-a"))), null);

    const stopped = new Prelister([Buffer.from(root)], false);
    stopped.stop();
    const oneFs = new Prelister([Buffer.from(root)], true);
    await sleep(50);
    assert.equal(stopped.take(Buffer.from(root)), null, "stopped before its first slice: nothing listed");
    assert.equal(oneFs.take(Buffer.from(root)), null, "--one-file-system leaves listing to the walk");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("prelist: a prepared backup uses the listings and stores the same tree", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-prelist-"));
  try {
    const source = join(dir, "src");
    mkdirSync(source);
    makeTree(source);
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    let vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    const first = await vault.backup({ paths: [source], prepared: SuedeVault.prepareBackup({ paths: [source] }) });
    assert.equal(first.filesNew, 3);
    await vault.close();

    appendFileSync(join(source, "a", "b", "c", "deep.txt"), "+er");
    mkdirSync(join(source, "new"));
    writeFileSync(join(source, "new", "n.txt"), "new");
    const prepared = SuedeVault.prepareBackup({ paths: [source] });
    vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    await sleep(100); // as if the key derivation took a while: the whole tree is listed by now
    try {
      assert.equal(prepared.prelister.held, 7, "the source, its five directories and the new one");
      const second = await vault.backup({ paths: [source], prepared });
      assert.deepEqual([second.filesChanged, second.filesNew, second.filesUnchanged, second.bytesRead], [1, 1, 2, "deep+er".length + "new".length]);
      assert.equal(prepared.prelister.held, 0, "the walk took every prepared listing");
      const target = join(dir, "restore");
      await vault.restore(second.id!, { target });
      assert.deepEqual(await compareTrees(source, join(target, source)), []);
      assert.equal(readFileSync(join(target, source, "a", "b", "c", "deep.txt"), "utf8"), "deep+er");
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
