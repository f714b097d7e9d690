// Goal: `key rekey` really revokes (old keys and old record keys open nothing in the new file),
// keeps every snapshot byte-exact, is resumable, and a kill at any instant leaves a vault that opens
// with the secret that ran it — with every old key until the new file replaces the old one.
// Method: library calls for the outcomes; the CLI in a child process, SIGKILLed at random moments
// spread over a measured run, for crash safety.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type Secret, SuedeVault } from "../src/index.ts";
import { FAST_KDF, PASSPHRASE, startSuede, suedeOk } from "./helpers/cli.ts";
import { Prng } from "./helpers/prng.ts";

const KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };

/** sha256 of every file of every snapshot, keyed "snapshot:path". */
async function contentDigest(path: string, secret: Secret): Promise<Map<string, string>> {
  const vault = await SuedeVault.open(path, { secret });
  try {
    const digest = new Map<string, string>();
    for (const snapshot of await vault.listSnapshots()) {
      for await (const { path: filePath, node } of vault.list(snapshot.number, { recursive: true })) {
        if (node.type !== "file") continue;
        const hash = createHash("sha256");
        for await (const piece of vault.readFile(node)) hash.update(piece);
        digest.set(`${snapshot.number}:${Buffer.from(filePath).toString("latin1")}`, hash.digest("hex"));
      }
    }
    return digest;
  } finally {
    await vault.close();
  }
}

async function opens(path: string, secret: Secret): Promise<boolean> {
  try {
    await (await SuedeVault.open(path, { secret })).close();
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "WRONG_PASSPHRASE") return false;
    throw error;
  }
}

function makeSource(dir: string, seed: number, files: number, fileBytes: number): void {
  const random = new Prng(seed);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `f${i}.bin`), random.bytes(fileBytes));
  writeFileSync(join(dir, "text.txt"), "hello\n".repeat(5000));
}

test("SuedeVault.rekey: every snapshot stays byte-exact; only the given secret opens the new file; old copies keep their old keys", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-rekey-"));
  try {
    const path = join(dir, "v.vault");
    const source = join(dir, "src");
    makeSource(source, 1, 6, 300_000);
    await SuedeVault.create(path, { secret: { passphrase: "one" }, kdf: KDF });
    let vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    await vault.backup({ paths: [source] });
    writeFileSync(join(source, "f0.bin"), randomBytes(200_000));
    await vault.backup({ paths: [source] });
    await vault.addKey({ passphrase: "two" }, { kdf: KDF });
    await vault.close();
    const before = await contentDigest(path, { passphrase: "one" });
    const oldCopy = join(dir, "old-copy.vault");
    copyFileSync(path, oldCopy);

    vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    const result = await vault.rekey({ passphrase: "three" }, { kdf: KDF });
    assert.equal(result.resumed, false);
    assert.ok(result.recordsCopied > 0);

    assert.deepEqual(await contentDigest(path, { passphrase: "three" }), before, "every file of every snapshot reads back the same");
    assert.equal(await opens(path, { passphrase: "one" }), false, "the secret that ran the re-key was replaced");
    assert.equal(await opens(path, { passphrase: "two" }), false, "other slots are gone");
    assert.equal(await opens(oldCopy, { passphrase: "two" }), true, "an older copy of the file still opens with old keys (documented)");
    assert.equal(existsSync(`${path}.rekey`), false, "the work file is gone");

    // Records were re-sealed, not copied: no 64-byte window of the old log survives in the new file.
    const oldBytes = readFileSync(oldCopy);
    const newBytes = readFileSync(path);
    for (let i = 0; i < 200; i++) {
      const at = 16384 + Math.floor((i / 200) * (oldBytes.byteLength - 16384 - 64));
      assert.equal(newBytes.indexOf(oldBytes.subarray(at, at + 64)), -1, `old bytes at ${at} found in the re-keyed file`);
    }

    // Blob IDs and chunk boundaries are kept: the same data backed up again costs almost nothing.
    vault = await SuedeVault.open(path, { secret: { passphrase: "three" }, writable: true });
    assert.deepEqual(vault.listKeys().map((s) => s.index), [0]);
    const copy = join(dir, "src-copy");
    mkdirSync(copy);
    for (let i = 1; i < 6; i++) copyFileSync(join(source, `f${i}.bin`), join(copy, `f${i}.bin`));
    const again = await vault.backup({ paths: [copy] });
    assert.ok(again.bytesAdded < 64 * 1024, `re-backing up known data added ${again.bytesAdded} bytes`);
    const report = await vault.check({ readData: true });
    assert.deepEqual(report.problems, []);
    await vault.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("SuedeVault.rekey: cancelled half way, it resumes from the work file and finishes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-rekey-"));
  try {
    const path = join(dir, "v.vault");
    const source = join(dir, "src");
    makeSource(source, 2, 40, 200_000);
    await SuedeVault.create(path, { secret: { passphrase: "one" }, kdf: KDF });
    let vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    await vault.backup({ paths: [source] });
    await vault.close();
    const before = await contentDigest(path, { passphrase: "one" });

    vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    const controller = new AbortController();
    let total = 0;
    await assert.rejects(
      vault.rekey({ passphrase: "one" }, {
        signal: controller.signal,
        onProgress: (copied, all) => {
          total = all;
          if (copied > all / 3) controller.abort();
        },
      }),
      (error: Error & { code?: string }) => error.code === "CANCELLED" && /resume/.test(error.message),
    );
    assert.ok(existsSync(`${path}.rekey`));
    assert.deepEqual(await contentDigest(path, { passphrase: "one" }), before, "the vault is untouched by a cancelled re-key");

    vault = await SuedeVault.open(path, { secret: { passphrase: "one" }, writable: true });
    let resumedTotal = 0;
    const result = await vault.rekey({ passphrase: "one" }, { onProgress: (_copied, all) => (resumedTotal = all) });
    assert.equal(result.resumed, true);
    assert.ok(resumedTotal < total * 0.8, `resume copied ${resumedTotal} of ${total} bytes again`);
    assert.deepEqual(await contentDigest(path, { passphrase: "one" }), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("suede key rekey: SIGKILL at random moments never loses a snapshot or the running secret; old keys work until the swap", { timeout: 240_000 }, async () => {
  const seed = Number(process.env.SUEDE_TEST_SEED ?? Date.now() % 1_000_000);
  const random = new Prng(seed);
  const dir = mkdtempSync(join(tmpdir(), "suede-rekey-kill-"));
  try {
    const path = join(dir, "v.vault");
    const source = join(dir, "src");
    makeSource(source, 3, 60, 400_000);
    await suedeOk(["init", path, ...FAST_KDF]);
    await suedeOk(["backup", path, source]);
    writeFileSync(join(dir, "other"), "other secret\n");
    await suedeOk(["key", "add", path, "--new-passphrase-file", join(dir, "other"), ...FAST_KDF]);
    const before = await contentDigest(path, { passphrase: PASSPHRASE });

    // Measure one whole run on a copy, so the kills below spread over the operation's real length.
    copyFileSync(path, join(dir, "keep.vault"));
    const started = Date.now();
    const full = await startSuede(["key", "rekey", path]).result;
    assert.equal(full.code, 0, full.stderr);
    const durationMs = Date.now() - started;
    // Start again from the original file for the kill loop.
    rmSync(path);
    copyFileSync(join(dir, "keep.vault"), path);
    const inode = statSync(path).ino;

    let swapped = 0;
    let kills = 0;
    for (let kill = 0; kill < 12 && statSync(path).ino === inode; kill++) {
      const child = startSuede(["key", "rekey", path]);
      // The first three kills land in the first third of a run, so a quick machine cannot finish the
      // re-key before three kills; later ones spread over the whole run, the swap included.
      const delay = random.below(kill < 3 ? Math.max(1, Math.floor(durationMs / 3)) : durationMs);
      const timer = setTimeout(() => child.kill("SIGKILL"), delay);
      const outcome = await child.result;
      clearTimeout(timer);
      const replaced = statSync(path).ino !== inode;
      assert.ok(await opens(path, { passphrase: PASSPHRASE }), `seed ${seed} kill ${kill} (${delay} ms): the running secret must open the vault`);
      assert.equal(await opens(path, { passphrase: "other secret" }), !replaced, `seed ${seed} kill ${kill}: old keys work exactly until the swap`);
      assert.deepEqual(await contentDigest(path, { passphrase: PASSPHRASE }), before, `seed ${seed} kill ${kill}: snapshots intact`);
      if (outcome.code === 0 || replaced) swapped++;
      kills++;
    }
    assert.ok(kills >= 3, `only ${kills} kill(s) before the re-key finished (seed ${seed})`);
    if (statSync(path).ino === inode) await suedeOk(["key", "rekey", path]);
    assert.equal(await opens(path, { passphrase: "other secret" }), false);
    assert.deepEqual(await contentDigest(path, { passphrase: PASSPHRASE }), before);
    await suedeOk(["check", path, "--read-data"]);
    assert.equal(existsSync(`${path}.rekey`), false);
    assert.ok(swapped <= 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
