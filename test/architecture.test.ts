// Goal: keep src/ layered as docs/ARCHITECTURE.md draws it. Method: read every import of every
// source file and check it against the allowed directions (a module imports only lower rows).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const SRC = resolve(import.meta.dirname, "../src");

const ROW: Readonly<Record<string, number>> = {
  util: 0,
  errors: 0,
  core: 1,
  crypto: 2,
  chunker: 2,
  vault: 3,
  snapshot: 4,
  fs: 4,
  backup: 5,
  restore: 5,
  check: 5,
  api: 6,
  web: 7,
  mount: 7,
  cli: 8, // hosts the `ui` and `mount` commands, so it sits above those front ends
  ".": 9, // src/index.ts
};

/** The one documented exception: file workers seal records where the data is read (ARCHITECTURE.md). */
const SEALING_IN_WORKERS = new Set(["vault/seal.ts", "vault/compress.ts", "vault/format.ts", "vault/record.ts"]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

function layerOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes("/") ? rel.split("/")[0]! : ".";
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms)].map((m) => resolve(dirname(file), m[1]!));
}

function problem(file: string, target: string): string | null {
  const from = layerOf(file);
  const to = layerOf(target);
  const fromRel = relative(SRC, file);
  const toRel = relative(SRC, target);
  if (from === to) return null;
  if (ROW[from] === undefined || ROW[to] === undefined) return `${fromRel}: unknown layer`;
  if (to === "vault") {
    if (from === "api" && toRel === "vault/index.ts") return null;
    // The unlock starts before the rest of the library loads (issue 5): vault/index.ts loads all of the vault.
    if (fromRel === "api/early-unlock.ts" && toRel === "vault/unlock.ts") return null;
    if (from === "check") return null;
    if (fromRel === "backup/file-worker.ts" && SEALING_IN_WORKERS.has(toRel)) return null;
    return `${fromRel} imports ${toRel}: only api (through vault/index.ts) and check may use the vault`;
  }
  if (ROW[to]! >= ROW[from]!) return `${fromRel} imports ${toRel}: a layer imports only lower rows`;
  return null;
}

test("src/ imports follow the layer rules", () => {
  const problems = sourceFiles(SRC).flatMap((file) => importsOf(file).map((target) => problem(file, target)).filter((p) => p !== null));
  assert.deepEqual(problems, []);
});

test("only util/clock.ts and util/random.ts read the clock and draw randomness below the CLI", () => {
  const offenders = sourceFiles(SRC)
    .filter((file) => !["cli", "web", "mount"].includes(layerOf(file)))
    .filter((file) => !/util\/(clock|random)\.ts$/.test(file))
    .filter((file) => /\bDate\.now\(|\brandomBytes\(|\brandomFill(Sync)?\(|\bMath\.random\(/.test(readFileSync(file, "utf8")))
    .map((file) => relative(SRC, file));
  assert.deepEqual(offenders, []);
});

test("the layer rules reject a wrong import (the check can fail)", () => {
  assert.notEqual(problem(join(SRC, "vault/vault.ts"), join(SRC, "api/suede-vault.ts")), null);
  assert.notEqual(problem(join(SRC, "backup/backup.ts"), join(SRC, "vault/vault.ts")), null);
  assert.equal(problem(join(SRC, "api/suede-vault.ts"), join(SRC, "vault/index.ts")), null);
});

test("node:fs is used only by fs/, the vault's file and lock, the file workers and the front ends", () => {
  // vault/direct-write.ts: a record-opening thread writes a restored big file's plaintext into the target's fd (ARCHITECTURE.md).
  const allowed = new Set(["vault/vault-file.ts", "vault/lock.ts", "vault/vault.ts", "vault/rekey.ts", "vault/direct-write.ts", "backup/file-worker.ts"]);
  const offenders = sourceFiles(SRC)
    .filter((file) => !["fs", "cli", "web", "mount"].includes(layerOf(file)) && !allowed.has(relative(SRC, file)))
    .filter((file) => /from "node:fs(\/promises)?"|import\("node:fs/.test(readFileSync(file, "utf8")))
    .map((file) => relative(SRC, file));
  assert.deepEqual(offenders, []);
});
