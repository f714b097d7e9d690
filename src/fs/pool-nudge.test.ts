// Goal: the pool nudge queues a request on libuv's pool about once a second while the process runs, and
// never keeps a process alive. Method: a child process counts fs.stat calls after starting it, stays
// busy for 2.5 s on a timer of its own, then lets its event loop empty: it must have stat'ed at least
// twice and exit by itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const MODULE = new URL("./pool-nudge.ts", import.meta.url).href;

test("startPoolNudge: a pool request every second while the process lives; the process still exits", () => {
  const script = `
    import fs from "node:fs";
    import { syncBuiltinESMExports } from "node:module";
    let stats = 0;
    const original = fs.stat;
    fs.stat = (...args) => { stats++; return original(...args); };
    syncBuiltinESMExports();
    const { startPoolNudge } = await import(${JSON.stringify(MODULE)});
    startPoolNudge();
    startPoolNudge();
    setTimeout(() => console.log("stats", stats), 2500);
  `;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(child.status, 0, child.stderr);
  const stats = Number(/stats (\d+)/.exec(child.stdout)?.[1]);
  assert.ok(stats >= 2 && stats <= 3, `stat calls in 2.5 s: ${stats} (one per second, started once)`);
});
