// Goal: SUEDE_DEBUG=1 tells where a command's time and memory went (a line per unlock, one at the
// end) and changes nothing else; without it, no such line. Method: the built CLI, spawned without a shell.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { CLI, FAST_KDF, PASSPHRASE, tempDir } from "./helpers/cli.ts";

function run(args: readonly string[], debug: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, SUEDE_PASSPHRASE: PASSPHRASE };
  if (debug) env.SUEDE_DEBUG = "1";
  else delete env.SUEDE_DEBUG;
  return spawnSync(process.execPath, [CLI, ...args], { env, encoding: "utf8" });
}

test("SUEDE_DEBUG=1: the command's output is unchanged and stderr ends with its memory peaks", async () => {
  const dir = await tempDir("suede-memory-report-");
  try {
    const vault = join(dir.path, "v.vault");
    assert.equal(run(["init", vault, ...FAST_KDF], false).status, 0);
    const quiet = run(["snapshots", vault], false);
    const debug = run(["snapshots", vault], true);
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.equal(debug.status, 0, debug.stderr);
    assert.equal(debug.stdout, quiet.stdout);
    assert.doesNotMatch(quiet.stderr, /debug:/);
    const lines = debug.stderr.trim().split("\n");
    // The unlock is timed apart from start-up, with the vault's own KDF parameters (FAST_KDF).
    assert.match(lines[0]!, /^suede: debug: unlock KDF \(Argon2id t=1, m=1 MiB, p=1\) \d+ ms; peak RSS by then \d+ MiB, RSS after \d+ MiB$/);
    const line = lines.at(-1)!;
    const match = /^suede: debug: \d+ ms since node started; peak RSS (\d+) MiB; main thread peaks: heap used (\d+) MiB \(of (\d+) MiB\), external \d+ MiB \(array buffers \d+ MiB\)$/.exec(line);
    assert.ok(match !== null, line);
    // A node process is tens of MiB; the heap used fits in the heap, the heap in the process.
    assert.ok(Number(match[1]) >= 20 && Number(match[2]) <= Number(match[3]) && Number(match[3]) < Number(match[1]), line);
  } finally {
    await dir.remove();
  }
});

test("SUEDE_DEBUG=1: a backup's timeline names its steps from the unlock to the close, in order", async () => {
  const dir = await tempDir("suede-memory-report-");
  try {
    const vault = join(dir.path, "v.vault");
    const source = join(dir.path, "src");
    await mkdir(source);
    await writeFile(join(source, "a.txt"), "a file\n");
    assert.equal(run(["init", vault, ...FAST_KDF], false).status, 0);
    const result = run(["backup", vault, source], true);
    assert.equal(result.status, 0, result.stderr);
    const timeline = /^suede: debug: timeline, ms since node started: (.*)$/m.exec(result.stderr);
    assert.ok(timeline !== null, result.stderr);
    const steps = timeline[1]!.split(", ").map((step) => /^(.*?) (\d+)(?:-\d+)?$/.exec(step)!).map((m) => ({ name: m[1]!, ms: Number(m[2]) }));
    const after = steps.slice(steps.findIndex((s) => s.name === "unlocked"));
    // The commit's three fsyncs keep their order: data, then the checkpoint, then the superblock before "committed".
    assert.deepEqual(after.map((s) => s.name), ["unlocked", "opened", "backup", "parent", "walked", "data synced", "checkpoint synced", "committed", "workers closed", "done", "closed"]);
    for (let i = 1; i < after.length; i++) assert.ok(after[i]!.ms >= after[i - 1]!.ms, timeline[1]);
  } finally {
    await dir.remove();
  }
});
