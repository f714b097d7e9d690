#!/usr/bin/env node
// Runs every *.test.ts under the given folders (default: src and test) with node's test runner.
// Node 20's --test has no glob for .ts files, so this finds them and passes them explicitly.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const roots = process.argv.length > 2 ? process.argv.slice(2) : ["src", "test"];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".test.ts")) files.push(path);
  }
};
for (const root of roots) walk(root);
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
// Every test process runs the CLI's guard against a lost libuv pool wake-up (src/fs/pool-nudge.ts).
const nudge = new URL("../test/helpers/pool-nudge-preload.ts", import.meta.url).pathname;
const result = spawnSync(process.execPath, ["--import", "tsx", "--import", nudge, "--test", "--test-concurrency=2", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
