// Goal: the vault grows by new content only (moves, renames, appends, inserts, duplicates, zeros) and compresses what compresses; method: back up seeded data through the CLI and bound the --json bytesAdded, then restore and compare.
import assert from "node:assert/strict";
import { mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { backupJson, initVault, sha256Of, snapshotsJson, suedeOk, tempDir } from "../helpers/cli.ts";
import { compareTrees } from "../helpers/compare-trees.ts";
import { Prng, wordText } from "../helpers/prng.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

describe("deduplication and compression", { timeout: 120_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };
  let counter = 0;

  before(async () => {
    work = await tempDir("dedup");
  });

  after(async () => {
    await work.remove();
  });

  /** A fresh vault and an empty source directory for one case. */
  async function setup(): Promise<{ vault: string; source: string }> {
    counter++;
    const vault = join(work.path, `vault-${counter}.suede`);
    const source = join(work.path, `source-${counter}`);
    await mkdir(source);
    await initVault(vault);
    return { vault, source };
  }

  /** Restores the latest snapshot and checks it equals the source. */
  async function assertRestoresExactly(vault: string, source: string): Promise<void> {
    const target = join(work.path, `restore-${counter}`);
    await suedeOk(["restore", vault, "latest", "--target", target]);
    assert.deepEqual(await compareTrees(source, join(target, source)), []);
  }

  test("moving a directory and renaming a file adds almost nothing", async (t) => {
    const { vault, source } = await setup();
    const prng = new Prng(1);
    await mkdir(join(source, "a"));
    await mkdir(join(source, "b", "sub"), { recursive: true });
    for (let i = 0; i < 5; i++) await writeFile(join(source, "a", `file-${i}.bin`), prng.bytes(2 * MiB));
    for (let i = 0; i < 5; i++) await writeFile(join(source, "b", "sub", `moved-${i}.bin`), prng.bytes(2 * MiB));
    const first = await backupJson(vault, [source]);
    assert.ok(first.bytesAdded >= 20 * MiB, `first backup stores the data (${first.bytesAdded})`);
    await rename(join(source, "b", "sub"), join(source, "a", "moved-here"));
    await rename(join(source, "a", "file-0.bin"), join(source, "a", "renamed-0.bin"));
    const second = await backupJson(vault, [source]);
    const movedBytes = 12 * MiB;
    t.diagnostic(`moved ${movedBytes} bytes: bytesAdded ${second.bytesAdded}`);
    assert.equal(second.filesChanged, 0);
    assert.equal(second.filesNew + second.filesUnchanged, 10, "moved and renamed files are new paths or recognised by inode");
    assert.ok(second.bytesAdded < 200 * KiB, `bytesAdded ${second.bytesAdded} for ${movedBytes} moved bytes`);
    assert.ok(second.bytesAdded < movedBytes / 100);
    await assertRestoresExactly(vault, source);
  });

  test("appending 1 MiB to a 16 MiB file adds about 1 MiB", async (t) => {
    const { vault, source } = await setup();
    const prng = new Prng(2);
    const file = join(source, "grows.bin");
    await writeFile(file, prng.bytes(16 * MiB));
    await backupJson(vault, [source]);
    const handle = await open(file, "a");
    await handle.write(prng.bytes(MiB));
    await handle.close();
    const second = await backupJson(vault, [source]);
    assert.equal(second.filesChanged, 1);
    t.diagnostic(`appended 1 MiB: bytesAdded ${second.bytesAdded}`);
    assert.ok(second.bytesAdded >= MiB, `the appended data is stored (${second.bytesAdded})`);
    assert.ok(second.bytesAdded < MiB + 600 * KiB, `bytesAdded ${second.bytesAdded}`);
    await assertRestoresExactly(vault, source);
  });

  test("inserting one byte at the start of a 16 MiB file adds under 1 MiB", async (t) => {
    const { vault, source } = await setup();
    const prng = new Prng(3);
    const file = join(source, "shifted.bin");
    const data = prng.bytes(16 * MiB);
    await writeFile(file, data);
    await backupJson(vault, [source]);
    await writeFile(file, Buffer.concat([Buffer.from([0x42]), data]));
    const second = await backupJson(vault, [source]);
    assert.equal(second.filesChanged, 1);
    t.diagnostic(`inserted 1 byte: bytesAdded ${second.bytesAdded}`);
    assert.ok(second.bytesAdded < MiB, `bytesAdded ${second.bytesAdded}`);
    await assertRestoresExactly(vault, source);
  });

  test("identical content under two names is stored once", async (t) => {
    const { vault, source } = await setup();
    const prng = new Prng(4);
    const content = prng.bytes(4 * MiB);
    const unique = prng.bytes(MiB);
    await writeFile(join(source, "one.bin"), content);
    await mkdir(join(source, "elsewhere"));
    await writeFile(join(source, "elsewhere", "two.bin"), content);
    await writeFile(join(source, "unique.bin"), unique);
    const first = await backupJson(vault, [source]);
    const uniqueBytes = content.length + unique.length;
    t.diagnostic(`${uniqueBytes} unique bytes under three names: bytesAdded ${first.bytesAdded}`);
    assert.ok(first.bytesAdded >= uniqueBytes, `bytesAdded ${first.bytesAdded}`);
    assert.ok(first.bytesAdded < 1.2 * uniqueBytes, `bytesAdded ${first.bytesAdded} for ${uniqueBytes} unique bytes`);
    await assertRestoresExactly(vault, source);
  });

  test("8 MiB of zeros adds almost nothing", async (t) => {
    const { vault, source } = await setup();
    await writeFile(join(source, "zeros.bin"), Buffer.alloc(8 * MiB));
    const first = await backupJson(vault, [source]);
    t.diagnostic(`8 MiB of zeros: bytesAdded ${first.bytesAdded}`);
    assert.ok(first.bytesAdded < 64 * KiB, `bytesAdded ${first.bytesAdded}`);
    await assertRestoresExactly(vault, source);
    assert.deepEqual(await readFile(join(work.path, `restore-${counter}`, source, "zeros.bin")), Buffer.alloc(8 * MiB));
  });

  test("8 MiB of random data costs at most 13% overhead", async (t) => {
    const { vault, source } = await setup();
    await writeFile(join(source, "noise.bin"), new Prng(6).bytes(8 * MiB));
    const first = await backupJson(vault, [source]);
    t.diagnostic(`8 MiB of random data: bytesAdded ${first.bytesAdded}`);
    assert.ok(first.bytesAdded >= 8 * MiB, `bytesAdded ${first.bytesAdded}`);
    assert.ok(first.bytesAdded <= 8 * MiB * 1.13, `bytesAdded ${first.bytesAdded} (${(first.bytesAdded / (8 * MiB)).toFixed(3)}×)`);
  });

  test("a 4 MiB text file is compressed", async (t) => {
    const { vault, source } = await setup();
    await writeFile(join(source, "words.txt"), wordText(new Prng(7), 4 * MiB, 2000));
    const first = await backupJson(vault, [source]);
    t.diagnostic(`4 MiB of text: bytesAdded ${first.bytesAdded}`);
    assert.ok(first.bytesAdded < 2 * MiB, `bytesAdded ${first.bytesAdded}`);
    await assertRestoresExactly(vault, source);
  });

  test("--dry-run reports what a backup would add and leaves the vault as it was", async (t) => {
    const { vault, source } = await setup();
    const prng = new Prng(9);
    await writeFile(join(source, "kept.bin"), prng.bytes(MiB));
    await backupJson(vault, [source]);
    await writeFile(join(source, "new.bin"), prng.bytes(2 * MiB));
    const before = await sha256Of(vault);
    const dry = await backupJson(vault, [source], {}, ["--dry-run"]);
    t.diagnostic(`dry run: bytesAdded ${dry.bytesAdded}`);
    assert.equal(dry.id, null);
    assert.equal(dry.filesNew, 1);
    assert.ok(dry.bytesAdded >= 2 * MiB && dry.bytesAdded < 2 * MiB + 256 * KiB, `bytesAdded ${dry.bytesAdded}`);
    assert.equal(await sha256Of(vault), before, "the vault file is unchanged");
    assert.equal((await snapshotsJson(vault)).length, 1);
    const real = await backupJson(vault, [source]);
    assert.equal(real.id, 2);
    assert.ok(real.bytesAdded >= 2 * MiB, "the dry run stored nothing the real backup could reuse");
  });

  test("an unchanged tree adds only the snapshot's own records", async (t) => {
    const { vault, source } = await setup();
    const prng = new Prng(8);
    for (let i = 0; i < 20; i++) await writeFile(join(source, `f${i}.bin`), prng.bytes(50 * KiB));
    await backupJson(vault, [source]);
    const again = await backupJson(vault, [source]);
    t.diagnostic(`unchanged: bytesAdded ${again.bytesAdded}`);
    assert.equal(again.filesUnchanged, 20);
    assert.equal(again.bytesRead, 0, "unchanged files are not read");
    assert.ok(again.bytesAdded < 16 * KiB, `bytesAdded ${again.bytesAdded}`);
  });
});
