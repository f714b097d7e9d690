// Goal: the parts of RELIABILITY.md T29 the tricky tree lacks: a block device node (root), and a /proc-style
// file whose size is 0 but whose content is not. Method: the CLI; restored nodes compared with compareTrees
// (type, mode, rdev), the /proc file's bytes with a fresh read of it.
import assert from "node:assert/strict";
import { readFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { initVault, isRoot, runTool, suede, suedeOk, tempDir } from "../helpers/cli.ts";
import { compareTrees } from "../helpers/compare-trees.ts";

test("a block and a char device node, and a FIFO without a writer, are recorded as nodes and recreated (root)", { skip: !isRoot && "mknod needs root", timeout: 120_000 }, async () => {
  const work = await tempDir("special");
  try {
    const vault = join(work.path, "vault.suede");
    const source = join(work.path, "src");
    await mkdir(source);
    await runTool("mknod", [join(source, "loop200"), "b", "7", "200"]);
    await runTool("mknod", [join(source, "null"), "c", "1", "3"]);
    await runTool("mkfifo", [join(source, "fifo")]);
    await initVault(vault);
    await suedeOk(["backup", vault, source]);
    const target = join(work.path, "restored");
    await suedeOk(["restore", vault, "1", "--target", target]);
    assert.deepEqual(await compareTrees(source, join(target, source)), []);
  } finally {
    await work.remove();
  }
});

test("a /proc file (stat size 0, content not empty) is stored with the bytes read, with one 'changed while read' warning", { timeout: 120_000 }, async () => {
  const work = await tempDir("procfs");
  try {
    const vault = join(work.path, "vault.suede");
    await initVault(vault);
    const result = await suede(["backup", vault, "/proc/version"]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("suede: warning: KDF below")), [
      "suede: warning: /proc/version: file changed while it was read; the snapshot holds the bytes as read",
    ]);
    const expected = await readFile("/proc/version", "utf8");
    assert.ok(expected.length > 0);
    assert.equal((await suedeOk(["cat", vault, "1", "/proc/version"])).stdout, expected);
  } finally {
    await work.remove();
  }
});
