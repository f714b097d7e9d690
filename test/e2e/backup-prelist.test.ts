// Goal: the CLI's backup lists the source tree while the vault unlocks and the walk uses those
// listings (SuedeVault.prepareBackup + withVault's beforeOpen), on a first backup and a no-change
// re-run, and the snapshot is still right. Method: SUEDE_DEBUG=1 prints how many directories were
// listed ahead and how many the backup used; both runs must use every one they listed, and at least
// the root (a CLI that stops preparing prints no such line; one that stops passing it uses none).
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { compareTrees } from "../helpers/compare-trees.ts";
import { initVault, suedeOk, tempDir } from "../helpers/cli.ts";

const LISTED = /^suede: debug: listed ahead during the unlock: (\d+) directories, (\d+) used by the backup$/m;

function listedAhead(stderr: string): { listed: number; used: number } {
  const match = LISTED.exec(stderr);
  assert.ok(match !== null, `no listing-ahead line in:\n${stderr}`);
  return { listed: Number(match[1]), used: Number(match[2]) };
}

test("backup: the CLI lists the tree during the unlock and the walk uses those listings", { timeout: 120_000 }, async () => {
  const { path: dir, remove } = await tempDir("prelist");
  try {
    const source = join(dir, "src");
    mkdirSync(join(source, "a", "b"), { recursive: true });
    mkdirSync(join(source, "z"));
    writeFileSync(join(source, "a", "b", "deep.txt"), "deep");
    writeFileSync(join(source, "z", "big"), Buffer.alloc(100_000, 3));
    writeFileSync(join(source, "top"), "top");
    const vault = join(dir, "v.suede");
    await initVault(vault);
    const debug = { env: { SUEDE_DEBUG: "1" } };

    const first = await suedeOk(["backup", vault, source, "--json"], debug);
    const firstListed = listedAhead(first.stderr);
    assert.ok(firstListed.listed >= 1 && firstListed.listed <= 4, `listed ${firstListed.listed} of 4 directories`);
    assert.equal(firstListed.used, firstListed.listed, "every directory listed ahead is used by the walk");
    assert.equal(JSON.parse(first.stdout).files, 3);

    const again = await suedeOk(["backup", vault, source, "--json"], debug);
    const againListed = listedAhead(again.stderr);
    assert.ok(againListed.listed >= 1);
    assert.equal(againListed.used, againListed.listed);
    const result = JSON.parse(again.stdout);
    assert.equal(result.filesUnchanged, 3, "listings made ahead are compared with the parent like the workers' own");

    const target = join(dir, "out");
    await suedeOk(["restore", vault, "latest", "--target", target]);
    assert.deepEqual(await compareTrees(source, join(target, source)), []);

    const quiet = await suedeOk(["backup", vault, source]);
    assert.doesNotMatch(quiet.stderr, LISTED, "printed only with SUEDE_DEBUG=1");
  } finally {
    await remove();
  }
});
