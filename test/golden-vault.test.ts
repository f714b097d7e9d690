// Goal: RELIABILITY.md T19's golden vault: a tiny vault of format v1, made once by an earlier build and
// committed (test/fixtures/golden-v1), opens, checks and restores byte-exact with this build — and with every
// later one. Method: the CLI against a copy of the committed file, restored trees compared with the committed
// manifests (names as bytes, type, mode, mtime µs, size, sha256, link targets, hard-link groups).
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GOLDEN_PASSPHRASE, GOLDEN_SOURCE } from "./fixtures/golden-v1/golden.ts";
import { REPO, sha256Of, suede, suedeOk, tempDir, type SnapshotJson } from "./helpers/cli.ts";
import { type ManifestEntry, treeManifest } from "./helpers/tree-manifest.ts";

const FIXTURE = join(REPO, "test", "fixtures", "golden-v1");
const options = { passphrase: GOLDEN_PASSPHRASE };

async function manifest(n: number): Promise<ManifestEntry[]> {
  return JSON.parse(await readFile(join(FIXTURE, `manifest-${n}.json`), "utf8")) as ManifestEntry[];
}

describe("golden vault v1 (T19)", { timeout: 120_000 }, () => {
  let work: { path: string; remove: () => Promise<void> };
  let vault: string;
  let originalSha: string;

  before(async () => {
    work = await tempDir("golden");
    vault = join(work.path, "golden.suede");
    await copyFile(join(FIXTURE, "vault.suede"), vault);
    originalSha = await sha256Of(vault);
  });

  after(async () => {
    await work.remove();
  });

  test("lists both snapshots with their paths, tags and parent", async () => {
    const listed = JSON.parse((await suedeOk(["snapshots", vault, "--json"], options)).stdout) as SnapshotJson[];
    assert.deepEqual(
      listed.map((s) => ({ id: s.id, paths: s.paths, tags: s.tags, parent: s.parent })),
      [
        { id: 1, paths: [GOLDEN_SOURCE], tags: ["golden-1"], parent: null },
        { id: 2, paths: [GOLDEN_SOURCE], tags: ["golden-2"], parent: 1 },
      ],
    );
  });

  test("check --read-data finds nothing wrong", async () => {
    await suedeOk(["check", vault, "--read-data"], options);
  });

  for (const n of [1, 2]) {
    test(`snapshot ${n} restores byte-exact to the committed manifest`, async () => {
      const target = join(work.path, `restore-${n}`);
      await suedeOk(["restore", vault, String(n), "--target", target], options);
      assert.deepEqual(await treeManifest(join(target, GOLDEN_SOURCE)), await manifest(n));
    });
  }

  test("cat gives a file's bytes; a wrong passphrase is exit 12; reading never changed the file", async () => {
    const cat = await suedeOk(["cat", vault, "2", `${GOLDEN_SOURCE}/hello.txt`], options);
    assert.equal(cat.stdout, "golden vault v1, edited\n");
    assert.equal((await suede(["snapshots", vault], { passphrase: "golden passphrase v2" })).code, 12);
    assert.equal(await sha256Of(vault), originalSha);
  });

  test("this build can append to the golden vault: a new backup, then every snapshot still restores", async () => {
    const source = join(work.path, "more");
    await mkdir(source);
    await writeFile(join(source, "new.txt"), "written by a later build\n");
    await suedeOk(["backup", vault, source], options);
    await suedeOk(["check", vault, "--read-data"], options);
    const target = join(work.path, "restore-1-again");
    await suedeOk(["restore", vault, "1", "--target", target], options);
    assert.deepEqual(await treeManifest(join(target, GOLDEN_SOURCE)), await manifest(1));
    assert.equal((await suedeOk(["cat", vault, "3", join(source, "new.txt")], options)).stdout, "written by a later build\n");
  });
});
