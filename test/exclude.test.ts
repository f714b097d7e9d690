// Goal: a backup leaves out what it must (the vault itself, its lock files, --exclude patterns) and
// nothing else, with and without patterns (no patterns takes a faster path in SuedeVault.backup).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../src/index.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const secret = { passphrase: "exclude" };

test("backup: the vault inside the source is skipped; --exclude patterns drop only what they match", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-excl-"));
  try {
    const source = join(dir, "src");
    mkdirSync(join(source, "cache", "deep"), { recursive: true });
    mkdirSync(join(source, "docs"));
    writeFileSync(join(source, "docs", "a.txt"), "alpha");
    writeFileSync(join(source, "docs", "run.log"), "log");
    writeFileSync(join(source, "cache", "deep", "c.bin"), "cached");
    writeFileSync(join(source, "vault.lockfile.txt"), "not a lock file");
    const vaultPath = join(source, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      const plain = await vault.backup({ paths: [source] });
      const all = join(dir, "all");
      await vault.restore(plain.id!, { target: all });
      const restored = join(all, source);
      assert.deepEqual(readdirSync(restored).sort(), ["cache", "docs", "vault.lockfile.txt"]);
      assert.equal(readFileSync(join(restored, "cache", "deep", "c.bin"), "utf8"), "cached");
      assert.equal(readFileSync(join(restored, "docs", "run.log"), "utf8"), "log");

      const filtered = await vault.backup({ paths: [source], excludes: ["*.log", "cache/"] });
      const some = join(dir, "some");
      await vault.restore(filtered.id!, { target: some });
      const kept = join(some, source);
      assert.deepEqual(readdirSync(kept).sort(), ["docs", "vault.lockfile.txt"]);
      assert.deepEqual(readdirSync(join(kept, "docs")), ["a.txt"]);
      assert.equal(readFileSync(join(kept, "docs", "a.txt"), "utf8"), "alpha");
      assert.equal(existsSync(join(kept, "cache")), false);
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
