// Goal: a vault file reveals no names, paths, host, user, tags, times or content, and two vaults of the same data share no ciphertext; method: back up distinctive data through the CLI and scan the raw vault bytes for every known string and window.
import assert from "node:assert/strict";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PASSPHRASE, backupJson, initVault, snapshotsJson, tempDir } from "../helpers/cli.ts";
import { Prng, wordText } from "../helpers/prng.ts";

/** Where the encrypted record log starts; before it are the public header copies and the superblock slots (FORMAT.md §2). */
const LOG_START = 16384;

/** The distinct 8-byte prefixes of every window of haystack starting in [from, end - width]. */
function windowPrefixes(haystack: Buffer, width: number, from = 0): Set<bigint> {
  const prefixes = new Set<bigint>();
  for (let i = from; i + width <= haystack.length; i++) prefixes.add(haystack.readBigUInt64LE(i));
  return prefixes;
}

/** Offsets (in needles) of windows of `width` bytes starting at or after `from` that also occur somewhere in haystack. */
function sharedWindows(needles: Buffer, haystack: Buffer, width: number, from = 0, limit = 5): number[] {
  const prefixes = windowPrefixes(haystack, width);
  const shared: number[] = [];
  for (let i = from; i + width <= needles.length && shared.length < limit; i++) {
    if (!prefixes.has(needles.readBigUInt64LE(i))) continue;
    if (haystack.indexOf(needles.subarray(i, i + width)) >= 0) shared.push(i);
  }
  return shared;
}

describe("what a vault file reveals", { timeout: 120_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };
  let source: string;
  const fileNames: string[] = [];
  const contents: Buffer[] = [];
  const markers: string[] = [];
  const TAG = "secret-tag-TAG777qq";
  const LINK_TARGET = "secret-link-target-LMNOP456";
  const DIR_NAME = "secret-dir-QWERTY987ZX";

  before(async () => {
    work = await tempDir("leak");
    source = join(work.path, "leak-source-HJKL321", DIR_NAME);
    await mkdir(join(source, "secret-subdir-ASDFG654"), { recursive: true });
    const prng = new Prng(4242);
    for (let i = 0; i < 12; i++) {
      const name = `secret-name-XYZ123-${String(i).padStart(3, "0")}.txt`;
      const marker = `MARKER-${i}-${prng.bytes(24).toString("base64url")}`.slice(0, 32);
      const size = i === 0 ? 100_000 : 2000 + prng.below(20_000); // one file big enough for the chunk workers
      const body: Buffer[] = [];
      let length = 0;
      while (length < size) {
        const piece = Buffer.concat([Buffer.from(marker), wordText(prng, 200 + prng.below(400), 500)]);
        body.push(piece);
        length += piece.length;
      }
      const content = Buffer.concat(body).subarray(0, size);
      const where = i % 3 === 0 ? join(source, "secret-subdir-ASDFG654", name) : join(source, name);
      await writeFile(where, content);
      fileNames.push(name);
      contents.push(content);
      markers.push(marker);
    }
    await symlink(LINK_TARGET, join(source, "secret-link-name-PQR852"));
    fileNames.push("secret-link-name-PQR852", "secret-subdir-ASDFG654", DIR_NAME);
  });

  after(async () => {
    await work.remove();
  });

  async function backUpInto(name: string, passphrase: string): Promise<{ vault: Buffer; time: string }> {
    const path = join(work.path, name);
    await initVault(path, { passphrase });
    await backupJson(path, [source], { passphrase }, ["--tag", TAG]);
    const [snapshot] = await snapshotsJson(path, { passphrase });
    assert.ok(snapshot !== undefined);
    return { vault: await readFile(path), time: snapshot.time };
  }

  test("no name, path, host, user, tag, time or content appears in the vault bytes", async (t) => {
    const { vault, time } = await backUpInto("scan.suede", PASSPHRASE);
    t.diagnostic(`vault of ${vault.length} bytes`);
    const found = (text: string | Buffer) => vault.indexOf(typeof text === "string" ? Buffer.from(text, "utf8") : text) >= 0;
    // Control: the scan does see what is public (the magic at the start of the header).
    assert.ok(found("SUEDEVLT"), "the scan finds the header magic");

    const strings: [string, string][] = [];
    for (const name of fileNames) strings.push(["file name", name]);
    for (const component of source.split("/").filter((c) => c.length >= 6)) strings.push(["path component", component]);
    strings.push(["source path", source], ["tag", TAG], ["link target", LINK_TARGET]);
    const host = hostname();
    if (host.length >= 4) strings.push(["host name", host]);
    const user = userInfo().username;
    if (user.length >= 4) strings.push(["user name", user]);
    strings.push(["snapshot time", time], ["snapshot time to the second", time.slice(0, 19)], ["snapshot date", time.slice(0, 10)]);
    strings.push(["snapshot time in ms", String(Date.parse(time))]);
    for (const marker of markers) strings.push(["content marker", marker]);
    for (const [what, text] of strings) assert.ok(!found(text), `${what} ${JSON.stringify(text)} is visible in the vault`);
    // UTF-16 and upper-case spellings of the names, in case something stores them so.
    for (const name of fileNames) {
      assert.ok(!found(Buffer.from(name, "utf16le")), `file name ${name} visible as UTF-16`);
      assert.ok(!found(name.toUpperCase()), `file name ${name} visible in upper case`);
    }

    // No 16-byte window of any file's content occurs anywhere in the vault.
    const prefixes = windowPrefixes(vault, 16);
    assert.deepEqual(sharedWindows(vault.subarray(100, 164), vault, 16).length, 5, "control: the window scan finds windows that are there");
    for (const [index, content] of contents.entries()) {
      for (let i = 0; i + 16 <= content.length; i++) {
        if (!prefixes.has(content.readBigUInt64LE(i))) continue;
        const window = content.subarray(i, i + 16);
        assert.ok(vault.indexOf(window) < 0, `content of ${fileNames[index]} at offset ${i} (${JSON.stringify(window.toString())}) is visible in the vault`);
      }
    }
  });

  test("vaults of the same data under different (or equal) passphrases share no 32-byte window", async (t) => {
    const a = await backUpInto("a.suede", "first passphrase");
    const b = await backUpInto("b.suede", "second passphrase");
    const c = await backUpInto("c.suede", "first passphrase");
    t.diagnostic(`vault sizes ${a.vault.length}, ${b.vault.length}, ${c.vault.length}`);
    // The header copies and superblock slots hold public constants and zero padding; the log must be all ciphertext.
    for (const [x, y, what] of [
      [a.vault, b.vault, "a/b"],
      [b.vault, a.vault, "b/a"],
      [a.vault, c.vault, "a/c"],
      [c.vault, a.vault, "c/a"],
    ] as const) {
      const shared = sharedWindows(x, y, 32, LOG_START);
      assert.deepEqual(shared, [], `${what}: log bytes at offsets ${shared.join(", ")} also occur in the other vault`);
    }
    // Within one vault the log repeats nothing either (no deterministic encryption of repeated blocks).
    const logA = a.vault.subarray(LOG_START);
    const seen = new Set<string>();
    let repeats = 0;
    for (let i = 0; i + 32 <= logA.length; i += 32) {
      const key = logA.subarray(i, i + 32).toString("latin1");
      if (seen.has(key)) repeats++;
      seen.add(key);
    }
    assert.equal(repeats, 0, "aligned 32-byte blocks of the log repeat");
  });
});
