// Goal: a restore big enough to read records in merged runs and open them on worker threads
// (vault/record-reader.ts: workers start after 4 MiB) restores every byte and all metadata, and a
// damaged record in the middle of a run costs only its file. Method: back up ~20 MiB of mixed files
// (random, compressible, sparse, many small) through the CLI, damage one chunk of one large file,
// restore (dist/cli/main.js) and compare the trees.
import assert from "node:assert/strict";
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../src/api/suede-vault.ts";
import { EXIT_CODES } from "../src/errors/exit-codes.ts";
import { systemClock } from "../src/util/clock.ts";
import { systemRandom } from "../src/util/random.ts";
import { Vault } from "../src/vault/vault.ts";
import { PASSPHRASE, backupJson, initVault, suede, suedeOk } from "./helpers/cli.ts";
import { damageBody } from "./helpers/damage.ts";
import { compareTrees } from "./helpers/compare-trees.ts";
import { Prng, wordText } from "./helpers/prng.ts";

function makeSource(root: string): void {
  const prng = new Prng(5);
  mkdirSync(join(root, "big"), { recursive: true });
  mkdirSync(join(root, "small", "deeper"), { recursive: true });
  for (let i = 0; i < 6; i++) writeFileSync(join(root, "big", `random-${i}.bin`), prng.bytes(1_500_000 + i * 7919));
  for (let i = 0; i < 4; i++) writeFileSync(join(root, "big", `text-${i}.txt`), wordText(prng, 2_000_000 + i * 104_729));
  for (let i = 0; i < 300; i++) writeFileSync(join(root, "small", i % 3 === 0 ? "deeper" : "", `f${i}`), prng.bytes(prng.below(40_000)));
  // Sparse: data, a 3 MiB hole, data, and a trailing hole.
  const fd = openSync(join(root, "big", "sparse.img"), "w");
  writeSync(fd, prng.bytes(300_000), 0, 300_000, 0);
  writeSync(fd, prng.bytes(200_000), 0, 200_000, 3_300_000);
  ftruncateSync(fd, 6_000_000);
  closeSync(fd);
  utimesSync(join(root, "big", "text-0.txt"), 1_000_000, 1_000_000.5);
}

test("a bulk restore is byte-exact with metadata; a damaged chunk mid-run fails only its file", { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-bulk-"));
  try {
    const source = join(dir, "src");
    makeSource(source);
    const vault = join(dir, "v.suede");
    await initVault(vault);
    await backupJson(vault, [source]);

    const whole = join(dir, "whole");
    // A vault this big gets a record-opening worker started during the unlock (16 MiB and up).
    assert.ok(statSync(vault).size >= 16 * 1024 * 1024, `vault of ${statSync(vault).size} bytes`);
    const restored = await suedeOk(["restore", vault, "latest", "--target", whole], { env: { SUEDE_DEBUG: "1" } });
    assert.match(restored.stderr, /open worker started during the unlock: used by the restore/);
    assert.deepEqual(await compareTrees(source, join(whole, source)), []);

    const victim = join(source, "big", "random-3.bin");
    const library = await SuedeVault.open(vault, { secret: { passphrase: PASSPHRASE } });
    const node = await library.stat(1, victim).finally(() => library.close());
    assert.ok(node.chunks!.length > 2, "the victim spans several chunks");
    const raw = await Vault.open(vault, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
    const location = raw.blobIndex.get(node.chunks![1]!.id);
    await raw.close();
    assert.ok(location !== undefined);
    await damageBody(vault, location.offset);

    const partial = join(dir, "partial");
    const result = await suede(["restore", vault, "latest", "--target", partial]);
    assert.equal(result.code, EXIT_CODES.RESTORE_INCOMPLETE, result.stderr);
    assert.match(result.stderr, /random-3\.bin: .*damaged/);
    assert.match(result.stderr, /1 entry was not restored/);
    assert.equal(existsSync(join(partial, victim)), false, "no file with wrong bytes is left behind");
    const differences = await compareTrees(source, join(partial, source));
    assert.equal(differences.length, 1, differences.join("\n"));
    assert.match(differences[0]!, /random-3\.bin.*only in source/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
