// Goal: RELIABILITY.md T35 (a full restore target) and T34's header-backup case (a header backup written to
// a full file system). Method: a small tmpfs (root only) as the restore target or the backup's directory;
// the CLI must exit 1 naming what it could not write, leave every written file byte-exact and no partial
// file, and never report success.
import assert from "node:assert/strict";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { initVault, isRoot, sha256Of, suede, suedeOk } from "../helpers/cli.ts";
import { noise, onTmpfs } from "../helpers/tmpfs.ts";

const MiB = 1024 * 1024;
const skip = !isRoot && "needs root to mount a tmpfs";

test("restore onto a full file system: stops with exit 1 and one 'no space' line naming the file, no success summary, every file present is byte-exact (no partial file)", { skip }, async () => {
  await onTmpfs("full-target", "8m", async (work, mount) => {
    const vault = join(work, "v.suede");
    const source = join(work, "src");
    mkdirSync(source);
    const names = ["a-small.txt", "b-big.bin", "c-big.bin", "d-small.txt"];
    writeFileSync(join(source, names[0]!), "small\n");
    writeFileSync(join(source, names[1]!), noise(1, 5 * MiB));
    writeFileSync(join(source, names[2]!), noise(2, 5 * MiB));
    writeFileSync(join(source, names[3]!), "also small\n");
    await initVault(vault);
    await suedeOk(["backup", vault, source]);

    const result = await suede(["restore", vault, "1", "--target", mount]);
    // No space is fatal: the restore stops with one line naming the file it was writing.
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /^suede: no space left on device while writing .*\/[bc]-big\.bin$/);
    assert.doesNotMatch(result.stdout, /restored/, "no success summary");
    const restored = join(mount, source);
    const present = existsSync(restored) ? readdirSync(restored) : [];
    assert.ok(present.length < names.length, `10 MiB cannot fit in 8 MiB: ${present.join(", ")}`);
    // What is there is whole: a file cut short by the full disk was removed.
    for (const name of present) assert.equal(await sha256Of(join(restored, name)), await sha256Of(join(source, name)), `${name} is whole`);
  });
});

test("header backup onto a full file system: exit 1 with one 'no space' line, no file under the name, the vault unchanged", { skip }, async () => {
  await onTmpfs("full-target", "1m", async (work, mount) => {
    const vault = join(work, "v.suede");
    await initVault(vault);
    const before = await sha256Of(vault);
    // Fill the tmpfs to the last byte.
    const fd = openSync(join(mount, "filler"), "w");
    try {
      for (;;) writeSync(fd, Buffer.alloc(4096, 1));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
    } finally {
      closeSync(fd);
    }
    const file = join(mount, "header.backup");
    const result = await suede(["header", "backup", vault, file]);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("suede: warning: KDF below"));
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /no space/);
    assert.deepEqual(readdirSync(mount), ["filler"], "neither the backup nor a temporary file is left");
    assert.equal(await sha256Of(vault), before);
  });
});
