// Goal: a source that changes while it is backed up (files rewritten, grown, shrunk, replaced,
// deleted; a directory removed) gives a committed snapshot that checks clean and in which every file
// holds one version that really existed, unless the backup warned that it changed while read; never
// a crash. Method: an in-process backup while a mutator rewrites the tree as fast as it can; every
// content a file ever had is hashed so the restored bytes can be matched against it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { PASSPHRASE } from "../helpers/cli.ts";
import { faultFixture } from "./harness.ts";

const SECRET = { passphrase: PASSPHRASE };
const sha = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

test("changing source: files rewritten, grown, shrunk, replaced and deleted during a backup give a clean snapshot whose files are each a real version or reported as changed", { timeout: 300_000 }, async (t) => {
  const { prng, dir, vault } = await faultFixture(t, "changing");
  const source = join(dir, "src");
  const seen = new Map<string, Set<string>>(); // relative path → hashes of every content it had
  const note = (file: string) => {
    const rel = relative(source, file);
    if (!seen.has(rel)) seen.set(rel, new Set());
    seen.get(rel)!.add(sha(readFileSync(file)));
  };
  const files: string[] = [];
  for (let i = 0; i < 40; i++) {
    const sub = join(source, `d${i % 5}`);
    mkdirSync(sub, { recursive: true });
    const file = join(sub, `f${i}.bin`);
    writeFileSync(file, prng.bytes(8 * 1024 + prng.below(600 * 1024)));
    note(file);
    files.push(file);
  }
  const counts = { rewrites: 0, appends: 0, truncates: 0, deletes: 0, dirsRemoved: 0, backups: 0 };
  let warnings: string[] = [];
  for (let run = 0; run < 3; run++) {
    let mutating = true;
    const mutator = (async () => {
      while (mutating) {
        await new Promise((resolve) => setImmediate(resolve));
        const file = prng.pick(files);
        const action = prng.below(10);
        if (action === 9 && run === 2 && existsSync(join(source, "d4"))) {
          rmSync(join(source, "d4"), { recursive: true, force: true });
          counts.dirsRemoved++;
          continue;
        }
        if (!existsSync(file)) {
          if (!existsSync(join(file, ".."))) continue;
          writeFileSync(file, prng.bytes(prng.below(300 * 1024)));
        } else if (action < 4) {
          writeFileSync(file, prng.bytes(prng.below(700 * 1024)));
          counts.rewrites++;
        } else if (action < 6) {
          appendFileSync(file, prng.bytes(prng.below(64 * 1024)));
          counts.appends++;
        } else if (action < 8) {
          truncateSync(file, Math.floor(statSync(file).size / 2));
          counts.truncates++;
        } else {
          rmSync(file);
          counts.deletes++;
          continue;
        }
        note(file);
      }
    })();
    const writer = await SuedeVault.open(vault, { secret: SECRET, writable: true });
    let result;
    try {
      result = await writer.backup({ paths: [source] });
    } finally {
      mutating = false;
      await mutator;
      await writer.close();
    }
    counts.backups++;
    warnings = [...warnings, ...result.warnings];
    assert.equal(result.id, run + 1, "the snapshot is committed");

    const reader = await SuedeVault.open(vault, { secret: SECRET });
    const target = join(dir, `restore-${run}`);
    try {
      assert.deepEqual((await reader.check({ readData: true })).problems, []);
      const restored = await reader.restore(result.id!, { target });
      assert.deepEqual(restored.failed, []);
      const root = join(target, source);
      for (const rel of readdirSync(root, { recursive: true }) as string[]) {
        const full = join(root, rel);
        if (!statSync(full).isFile()) continue;
        const known = seen.get(rel)?.has(sha(readFileSync(full))) ?? false;
        const reported = result.warnings.some((w) => w.includes(rel));
        assert.ok(known || reported, `run ${run}: ${rel} holds bytes that never existed and was not reported`);
      }
    } finally {
      await reader.close();
      rmSync(target, { recursive: true, force: true });
    }
  }
  t.diagnostic(`mutations: ${JSON.stringify(counts)}; warnings: ${warnings.length} (e.g. ${warnings.slice(0, 2).join(" | ")})`);
  assert.ok(counts.rewrites + counts.appends + counts.truncates > 10, "the source really changed during the backups");
});
