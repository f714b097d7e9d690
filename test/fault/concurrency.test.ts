// Goal: one writer at a time, and readers that never see wrong bytes. A second writer (backup, prune,
// forget, key add) while a backup holds the lock exits 11 naming the holder's pid and host; readers
// (a long-lived read-only session restoring, CLI restore/cat/ls) running while prune copies records,
// commits and truncates the file always get the exact bytes. Method: real CLI children against one
// vault; readers loop until the prune child exits; every restored tree is compared with its source.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { VaultFile } from "../../src/vault/vault-file.ts";
import { CLI, PASSPHRASE, startSuede, suede, suedeOk } from "../helpers/cli.ts";
import { compareTrees } from "../helpers/compare-trees.ts";
import { Prng } from "../helpers/prng.ts";
import { TEST_KDF, faultFixture, killCount, makeTree, scratchDir, withVault } from "./harness.ts";

const SECRET = { passphrase: PASSPHRASE };

/** `suede cat` with its stdout as bytes (the shared helper decodes text). */
function catBytes(vault: string, snapshot: number, file: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "cat", vault, String(snapshot), file], { env: { ...process.env, SUEDE_PASSPHRASE: PASSPHRASE }, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }));
  });
}

function filesUnder(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).map((rel) => join(root, rel)).filter((p) => statSync(p).isFile());
}

test("second writer: backup, prune, forget and key add while another process holds the lock exit 11 with one line naming the holder's pid and host", { timeout: 120_000 }, async (t) => {
  const { dir, vault } = await faultFixture(t, "two-writers");
  const small = join(dir, "small");
  makeTree(small, new Prng(1), { files: 3, maxFileBytes: 1024 });
  await suedeOk(["backup", vault, small]);
  // The holder is this test process (a writable session), so the lock is held for as long as needed.
  const holder = await SuedeVault.open(vault, { secret: SECRET, writable: true });
  const attempts = [
    ["backup", vault, small],
    ["prune", vault],
    ["forget", vault, "1"],
    ["key", "add", vault, "--kdf-memory", "1", "--kdf-iterations", "1", "--kdf-parallelism", "1"],
  ];
  try {
    for (const args of attempts) {
      const second = await suede(args, { env: { SUEDE_NEW_PASSPHRASE: "another one" } });
      assert.equal(second.code, 11, `${args[0]}: ${second.stderr}`);
      const lines = second.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `${args[0]}: one line expected: ${second.stderr}`);
      assert.match(lines[0]!, new RegExp(`locked by process ${process.pid} on ${hostname().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`), args[0]);
    }
    // The holder commits normally afterwards.
    await holder.backup({ paths: [small] });
  } finally {
    await holder.close();
  }
  // And once it is gone, the next writer gets in.
  await suedeOk(["backup", vault, small]);
  const open = await SuedeVault.open(vault, { secret: SECRET });
  try {
    assert.deepEqual((await open.listSnapshots()).map((s) => s.number), [1, 2, 3], "only the holder's and the later writer's snapshots");
    assert.deepEqual((await open.check()).problems, []);
  } finally {
    await open.close();
  }
});

test("readers during prune: a long-lived read-only session and CLI restore/cat/ls running while prune moves, commits and truncates always get exact bytes", { timeout: 300_000 }, async (t) => {
  const { seed, prng, dir, vault } = await faultFixture(t, "readers");
  const sources = new Map<number, string>();
  let generation = 0;
  const addSnapshots = async (count: number): Promise<void> => {
    await withVault(vault, PASSPHRASE, true, async (writer) => {
      for (let i = 0; i < count; i++) {
        const root = join(dir, `src${generation++}`);
        makeTree(root, new Prng(seed + generation), { files: 40, maxFileBytes: 40 * 1024 });
        sources.set((await writer.backup({ paths: [root] })).id!, root);
      }
    });
  };
  const forget = async (numbers: number[]): Promise<void> => {
    await withVault(vault, PASSPHRASE, true, (writer) => writer.forget(numbers));
    for (const n of numbers) sources.delete(n);
  };
  await addSnapshots(6);

  // Opened before any prune and kept open: it must follow the commits the pruner makes.
  const session = await SuedeVault.open(vault, { secret: SECRET });
  t.after(() => session.close());
  const counts = { sessionRestores: 0, cliRestores: 0, cliCats: 0, cliLs: 0, prunes: 0 };
  const failures: string[] = [];
  let restoreNumber = 0;

  const restoreAndCompare = async (number: number, via: "session" | "cli"): Promise<void> => {
    const source = sources.get(number)!;
    const target = join(dir, `r${restoreNumber++}`);
    try {
      if (via === "session") {
        const result = await session.restore(number, { target });
        if (result.failed.length > 0) return void failures.push(`session restore ${number}: ${result.failed.map((f) => f.message).join("; ")}`);
      } else {
        const result = await suede(["restore", vault, String(number), "--target", target]);
        if (result.code !== 0) return void failures.push(`cli restore ${number}: exit ${result.code}: ${result.stderr.trim()}`);
      }
      const differences = await compareTrees(source, join(target, source));
      if (differences.length > 0) failures.push(`WRONG BYTES: ${via} restore of ${number}: ${differences.slice(0, 3).join("; ")}`);
    } catch (error) {
      failures.push(`${via} restore ${number}: ${(error as Error).message}`);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  };

  for (let round = 0; round < 3; round++) {
    // Forget the oldest three (kept: the newest), add garbage-free new ones next round.
    const kept = [...sources.keys()].sort((a, b) => a - b);
    const doomed = kept.slice(0, 3);
    await forget(doomed);
    const keptNumbers = [...sources.keys()];
    // The session picks up the new snapshots the way a mount does; the prune then moves them under it.
    await session.refresh();
    const pruner = startSuede(["prune", vault]);
    let running = true;
    void pruner.result.then(() => {
      running = false;
    });
    const loops = [
      (async () => {
        while (running && failures.length < 20) {
          await new Promise((resolve) => setImmediate(resolve));
          await restoreAndCompare(prng.pick(keptNumbers), "session");
          counts.sessionRestores++;
        }
      })(),
      (async () => {
        while (running && failures.length < 20) {
          await restoreAndCompare(prng.pick(keptNumbers), "cli");
          counts.cliRestores++;
        }
      })(),
      (async () => {
        // cat and ls alternate.
        for (let i = 0; running && failures.length < 20; i++) {
          const number = prng.pick(keptNumbers);
          if (i % 2 === 1) {
            const result = await suede(["ls", vault, String(number), "-R"]);
            if (result.code !== 0) failures.push(`cli ls ${number}: exit ${result.code}: ${result.stderr.trim()}`);
            else if (!result.stdout.includes("f0.bin")) failures.push(`WRONG LISTING: ls ${number}`);
            counts.cliLs++;
            continue;
          }
          const file = prng.pick(filesUnder(sources.get(number)!));
          const result = await catBytes(vault, number, file);
          if (result.code !== 0) failures.push(`cli cat ${number}: exit ${result.code}: ${result.stderr.trim()}`);
          else if (!result.stdout.equals(readFileSync(file))) failures.push(`WRONG BYTES: cat ${number} ${file}`);
          counts.cliCats++;
        }
      })(),
    ];
    const pruned = await pruner.result;
    await Promise.all(loops);
    assert.equal(pruned.code, 0, pruned.stderr);
    counts.prunes++;
    await addSnapshots(3);
  }
  t.diagnostic(`reads during ${counts.prunes} prunes: ${JSON.stringify(counts)}`);
  assert.deepEqual(failures, [], "readers failed or saw wrong bytes");
  assert.ok(counts.sessionRestores + counts.cliRestores >= 8, `too few reads overlapped the prunes: ${JSON.stringify(counts)}`);
});

test("readers during prune, interleaved exactly: a whole forget+prune injected before the reader's n-th file read (for every n, then again at n+1, n+2, n+4) never makes a read-only session fail or return wrong bytes", { timeout: 300_000 }, async (t) => {
  const dir = await scratchDir("interleave");
  t.after(dir.remove);
  const base = join(dir.path, "base.suede");
  await SuedeVault.create(base, { secret: SECRET, kdf: TEST_KDF });
  const sources: string[] = [];
  const writer = await SuedeVault.open(base, { secret: SECRET, writable: true });
  for (let i = 0; i < 6; i++) {
    const root = join(dir.path, `src${i}`);
    makeTree(root, new Prng(100 + i), { files: 12, maxFileBytes: 24 * 1024 });
    sources.push(root);
    await writer.backup({ paths: [root] });
  }
  await writer.close();
  const target = 6; // never forgotten; prunes forget 1, 2, … below it, so its records move down
  const vault = join(dir.path, "v.suede");
  const proto = VaultFile.prototype;
  const originalReadAt = proto.readAt;
  t.after(() => {
    proto.readAt = originalReadAt;
  });
  let reads = 0;
  let injectAt: number[] = [];
  let nextToForget = 1;
  let injecting = false;
  const injected = { prunes: 0 };
  // The reader's reads are counted; before the chosen ones, another session forgets and prunes.
  proto.readAt = async function (this: VaultFile, offset, length) {
    if (!injecting && this.path === vault && !this.writable) {
      reads++;
      if (injectAt.includes(reads) && nextToForget < target) {
        injecting = true;
        try {
          const pruner = await SuedeVault.open(vault, { secret: SECRET, writable: true });
          try {
            await pruner.forget([nextToForget++]);
            await pruner.prune();
            injected.prunes++;
          } finally {
            await pruner.close();
          }
        } finally {
          injecting = false;
        }
      }
    }
    return originalReadAt.call(this, offset, length);
  };
  const restoreOnce = async (at: number[]): Promise<void> => {
    copyFileSync(base, vault);
    reads = 0;
    injectAt = at;
    nextToForget = 1;
    const session = await SuedeVault.open(vault, { secret: SECRET });
    const out = join(dir.path, "restore");
    try {
      const result = await session.restore(target, { target: out });
      assert.deepEqual(result.failed, [], `injected before reads ${at.join(", ")}`);
      const source = sources[target - 1]!;
      assert.deepEqual(await compareTrees(source, join(out, source)), [], `injected before reads ${at.join(", ")}: wrong bytes`);
    } finally {
      await session.close();
      rmSync(out, { recursive: true, force: true });
    }
  };
  // Count the reads of an undisturbed open + restore, then inject at each of them.
  await restoreOnce([]);
  const total = reads;
  for (let n = 1; n <= total; n++) await restoreOnce([n, n + 1, n + 2, n + 4]);
  t.diagnostic(`${total} reads per open + restore; ${total} restores, each with up to four prunes injected (${injected.prunes} prunes in all)`);
  assert.ok(injected.prunes >= total, "the injections happened");
});

test("two backups started together, again and again: each exits 0 or 11, one snapshot per exit 0, and the vault checks clean", { timeout: 300_000 }, async (t) => {
  const { dir, vault, prng } = await faultFixture(t, "racing-writers");
  const source = join(dir, "src");
  makeTree(source, prng, { files: 30, maxFileBytes: 64 * 1024 });
  const rounds = killCount(10);
  let snapshots = 0;
  const codes = { both: 0, oneLocked: 0 };
  for (let round = 0; round < rounds; round++) {
    // Both children are spawned in the same tick: their lock attempts fall within milliseconds.
    const [a, b] = [startSuede(["backup", vault, source]), startSuede(["backup", vault, source])];
    const results = await Promise.all([a.result, b.result]);
    for (const r of results) assert.ok(r.code === 0 || r.code === 11, `round ${round}: exit ${r.code}: ${r.stderr}`);
    const succeeded = results.filter((r) => r.code === 0).length;
    assert.ok(succeeded >= 1, `round ${round}: neither backup got the lock: ${results.map((r) => r.stderr).join(" | ")}`);
    codes[succeeded === 2 ? "both" : "oneLocked"]++;
    snapshots += succeeded;
    for (const r of results.filter((x) => x.code === 11)) {
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^suede: .*locked by process \d+/);
    }
  }
  await withVault(vault, PASSPHRASE, false, async (open) => {
    assert.deepEqual((await open.listSnapshots()).map((s) => s.number), Array.from({ length: snapshots }, (_, i) => i + 1));
    assert.deepEqual((await open.check({ readData: true })).problems, []);
  });
  t.diagnostic(`${rounds} rounds: ${codes.oneLocked} with one writer locked out (exit 11), ${codes.both} where the second started after the first had finished`);
});
