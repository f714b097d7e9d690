// Goal: the progress counters a caller polls name the file being read, shown as displayPath shows it
// (kept as bytes and decoded only when read, issue 5), whether the caller's progress object came from
// emptyProgress or is a plain object of its own. Method: back up a one-file tree whose name is not
// valid UTF-8 through the library with each kind of progress object.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type BackupProgress, emptyProgress } from "../src/backup/backup.ts";
import { SuedeVault } from "../src/index.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const secret = { passphrase: "progress" };

test("backup progress: currentPath is the file read, displayed; counters filled; plain objects too", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-progress-"));
  try {
    const source = join(dir, "src");
    mkdirSync(source);
    const name = Buffer.concat([Buffer.from("caf"), Buffer.from([0xff]), Buffer.from(".txt")]);
    writeFileSync(Buffer.concat([Buffer.from(`${source}/`), name]), "hello, progress");
    const vaultPath = join(dir, "v.vault");
    await SuedeVault.create(vaultPath, { secret, kdf: KDF });
    const vault = await SuedeVault.open(vaultPath, { secret, writable: true });
    try {
      const made = emptyProgress();
      assert.equal(made.currentPath, "");
      const plain: BackupProgress = { files: 0, dirs: 0, sizeBytes: 0, filesNew: 0, filesChanged: 0, filesUnchanged: 0, bytesRead: 0, bytesStored: 0, skipped: 0, currentPath: "" };
      for (const progress of [made, plain]) {
        // The second backup has a parent: the file is unchanged and not read; a new source path is.
        writeFileSync(join(source, `n${progress === made ? 1 : 2}`), "x");
        await vault.backup({ paths: [source], progress });
        assert.ok(progress.files >= 1 && progress.bytesRead >= 1, `counters: ${JSON.stringify(progress)}`);
        assert.match(progress.currentPath, new RegExp(`^${source}/(caf\\\\xff\\.txt|n[12])$`));
      }
      assert.equal(made.currentPath.endsWith("caf\\xff.txt") || made.currentPath.endsWith("n1"), true);
      made.currentPath = "set by the caller";
      assert.equal(made.currentPath, "set by the caller");
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
