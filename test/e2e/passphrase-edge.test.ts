// Goal: the rest of RELIABILITY.md T15 (cli-errors covers the plain wrong passphrase and NFC/NFD): an
// empty, a 1 MiB and a newline-ended passphrase. Each wrong one is exit 12 with one line, the vault's bytes
// and mtime unchanged and no lock file left; `init` refuses an empty passphrase. Method: the CLI.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FAST_KDF, PASSPHRASE, initVault, sha256Of, suede, suedeOk, tempDir } from "../helpers/cli.ts";

describe("passphrase edge cases (T15)", { timeout: 120_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };
  let vault: string;

  before(async () => {
    work = await tempDir("passphrase");
    vault = join(work.path, "vault.suede");
    await initVault(vault);
  });

  after(async () => {
    await work.remove();
  });

  /** Runs `snapshots` and asserts exit 12, one line, and that the vault file and its directory are as before. */
  async function assertRefused(args: readonly string[], passphrase: string | null): Promise<void> {
    const [sha, mtime] = [await sha256Of(vault), (await stat(vault)).mtimeMs];
    const result = await suede(["snapshots", vault, ...args], { passphrase });
    assert.equal(result.code, 12, result.stderr);
    const lines = result.stderr.split("\n").filter((l) => l !== "");
    assert.deepEqual(lines, ["suede: wrong passphrase (no key slot of this vault opens with it)"]);
    assert.equal(await sha256Of(vault), sha);
    assert.equal((await stat(vault)).mtimeMs, mtime);
    assert.deepEqual((await readdir(work.path)).filter((n) => n.includes("lock")), [], "no lock file left");
  }

  test("an empty passphrase opens nothing (exit 12); init refuses one (exit 2) and creates no file", async () => {
    await assertRefused([], "");
    const other = join(work.path, "empty.suede");
    const init = await suede(["init", other, ...FAST_KDF], { passphrase: "" });
    assert.equal(init.code, 2, init.stderr);
    assert.match(init.stderr, /empty passphrase is not allowed/);
    assert.ok(!existsSync(other));
  });

  test("a 1 MiB passphrase from a file: exit 12, nothing changed", async () => {
    const file = join(work.path, "huge.txt");
    await writeFile(file, randomBytes(768 * 1024).toString("base64"));
    await assertRefused(["--passphrase-file", file], null);
  });

  test("newlines: the environment is taken verbatim; a passphrase file loses exactly one trailing newline", async () => {
    await assertRefused([], `${PASSPHRASE}\n`);
    const one = join(work.path, "one-newline.txt");
    const two = join(work.path, "two-newlines.txt");
    await writeFile(one, `${PASSPHRASE}\n`);
    await writeFile(two, `${PASSPHRASE}\n\n`);
    await suedeOk(["snapshots", vault, "--passphrase-file", one], { passphrase: null });
    await assertRefused(["--passphrase-file", two], null);
  });
});

describe("key remove at the CLI (T16)", { timeout: 120_000 }, () => {
  test("prints that older copies still open with the removed passphrase — and they do; the current file refuses it", async () => {
    const work = await tempDir("revoke");
    try {
      const vault = join(work.path, "vault.suede");
      await initVault(vault);
      await suedeOk(["key", "add", vault, ...FAST_KDF], { env: { SUEDE_NEW_PASSPHRASE: "second secret" } });
      const older = join(work.path, "older-copy.suede");
      await writeFile(older, await readFile(vault));
      const removed = await suedeOk(["key", "remove", vault], { passphrase: "second secret" });
      assert.match(removed.stdout, /^removed key slot \d+\nnote: copies of the vault file made before this change still open with the removed secret; only a re-key \(new master key\) revokes it\n$/);
      assert.equal((await suede(["snapshots", vault], { passphrase: "second secret" })).code, 12);
      await suedeOk(["snapshots", older], { passphrase: "second secret" });
      await suedeOk(["snapshots", vault]);
    } finally {
      await work.remove();
    }
  });
});
