// Goal: RELIABILITY.md T31 (very long paths, very deep trees) and the T30 names the tricky tree lacks (a lone
// continuation byte 0x80, an overlong UTF-8 sequence). suede's documented outcome for T31: what lies beyond
// PATH_MAX (4096 bytes) is skipped with one ENAMETOOLONG warning per path and exit 3; everything else is
// backed up and restored exactly; no stack overflow at 5,000 levels. Method: trees built with chdir (the
// paths are longer than PATH_MAX), the CLI, and a restore compared entry by entry.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type BackupJson, initVault, lsJson, runTool, suede, suedeOk, tempDir } from "../helpers/cli.ts";
import { compareTrees } from "../helpers/compare-trees.ts";

const DEPTH = 5000;
const PATH_MAX = 4096;

/** Runs fn with the working directory at dir (paths beyond PATH_MAX can only be made relative to it). */
function inDirectory(dir: string, fn: () => void): void {
  const home = process.cwd();
  process.chdir(dir);
  try {
    fn();
  } finally {
    process.chdir(home);
  }
}

describe("very long paths and a 5,000-level tree (T31)", { timeout: 180_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };
  let vault: string;
  let source: string;
  let backup: { code: number | null; stderr: string; json: BackupJson };

  before(async () => {
    work = await tempDir("long");
    vault = join(work.path, "vault.suede");
    source = join(work.path, "src");
    await mkdir(join(source, "long"), { recursive: true });
    await mkdir(join(source, "deep"));
    // 20 levels of 250-byte names (5,000+ bytes), and 5,000 levels of 1-byte names (10,000+ bytes).
    inDirectory(join(source, "long"), () => {
      for (let i = 0; i < 20; i++) {
        const name = `${String(i).padStart(2, "0")}${"n".repeat(248)}`;
        mkdirSync(name);
        process.chdir(name);
      }
      writeFileSync("leaf.txt", "beyond PATH_MAX\n");
    });
    inDirectory(join(source, "deep"), () => {
      for (let i = 0; i < DEPTH; i++) {
        mkdirSync("a");
        process.chdir("a");
      }
      writeFileSync("bottom.txt", "bottom\n");
    });
    await writeFile(join(source, "ok.txt"), "unaffected\n");
    await initVault(vault);
    const result = await suede(["backup", vault, source, "--json"]);
    backup = { code: result.code, stderr: result.stderr, json: JSON.parse(result.stdout) as BackupJson };
  });

  after(async () => {
    // Node's rm goes by whole paths and fails beyond PATH_MAX; GNU rm descends with openat.
    await runTool("rm", ["-rf", work.path]);
  });

  test("backup: exit 3, each path beyond PATH_MAX skipped once with an ENAMETOOLONG warning, the snapshot saved", () => {
    assert.equal(backup.code, 3, backup.stderr);
    assert.equal(backup.json.id, 1);
    assert.equal(backup.json.skipped.length, 2, backup.json.skipped.map((p) => p.slice(0, 80)).join("\n"));
    for (const path of backup.json.skipped) {
      assert.ok(Buffer.byteLength(path) >= PATH_MAX, `${path.length}-byte path skipped`);
      assert.ok(path.startsWith(join(source, "deep")) || path.startsWith(join(source, "long")));
    }
    const warnings = backup.stderr.split("\n").filter((l) => l.startsWith("suede: warning: skipped"));
    assert.equal(warnings.length, 2, backup.stderr.slice(0, 2000));
    for (const line of warnings) assert.match(line, /name too long \(ENAMETOOLONG\)$/);
    assert.doesNotMatch(backup.stderr, /RangeError|Maximum call stack|internal error|\n\s+at /);
  });

  test("check --read-data and ls -R walk the whole deep snapshot without a stack overflow", async () => {
    await suedeOk(["check", vault, "--read-data"]);
    const entries = await lsJson(vault, "1");
    const deepest = entries.filter((e) => e.path.startsWith(join(source, "deep"))).reduce((max, e) => Math.max(max, e.path.length), 0);
    // Everything up to the PATH_MAX boundary is in the snapshot: about 2,000 levels of "a/".
    assert.ok(deepest > PATH_MAX - 300 && deepest < PATH_MAX, `deepest stored path has ${deepest} bytes`);
    assert.ok(entries.some((e) => e.path === join(source, "ok.txt")));
  });

  test("restore: the files within reach come back exactly; paths too long under the target are named, exit 1", async () => {
    const target = join(work.path, "restored");
    const result = await suede(["restore", vault, "1", "--target", target]);
    // The target prefix lengthens every path: the deepest directories no longer fit and are named.
    const errors = result.stderr.split("\n").filter((l) => l.startsWith("suede: error:"));
    assert.equal(result.code, errors.length === 0 ? 0 : 1, result.stderr.slice(0, 2000));
    for (const line of errors) assert.match(line, /name too long \(ENAMETOOLONG\)$/);
    assert.equal(await readFile(join(target, source, "ok.txt"), "utf8"), "unaffected\n");
    assert.deepEqual(await readdir(join(target, source, "long")), ["00" + "n".repeat(248)]);
  });
});

describe("names the tricky tree does not have (T30)", { timeout: 60_000 }, () => {
  test("a lone 0x80, an overlong '/' (C0 AF) and a lone surrogate (ED A0 80) round-trip as bytes; ls --json gives them as base64", async () => {
    const work = await tempDir("names");
    try {
      const vault = join(work.path, "vault.suede");
      const source = join(work.path, "src");
      await mkdir(source);
      const names = [Buffer.from([0x80]), Buffer.from([0x61, 0xc0, 0xaf, 0x62]), Buffer.from([0xed, 0xa0, 0x80])];
      for (const name of names) await writeFile(Buffer.concat([Buffer.from(`${source}/`), name]), name);
      await initVault(vault);
      await suedeOk(["backup", vault, source]);
      const listed = (await lsJson(vault, "1", source)).filter((e) => e.path !== source);
      assert.deepEqual(
        listed.map((e) => e.bytes.toString("hex")).sort(),
        names.map((n) => Buffer.concat([Buffer.from(`${source}/`), n]).toString("hex")).sort(),
      );
      assert.ok(listed.every((e) => e.pathBase64 !== undefined), "non-UTF-8 paths come with pathBase64");
      const target = join(work.path, "restored");
      await suedeOk(["restore", vault, "1", "--target", target]);
      assert.deepEqual(await compareTrees(source, join(target, source)), []);
    } finally {
      await work.remove();
    }
  });
});
