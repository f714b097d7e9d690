/** Byte-exact verification of a restore: diff -r (no dereferencing) for trees, sha256 for files. */
import { existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import type { Expected } from "./datasets.ts";
import { sh } from "./exec.ts";
import type { Tool } from "./tools.ts";

export interface VerifyResult {
  readonly ok: boolean;
  /** Differences the tool is known to produce (zpaq: symlinks not stored). */
  readonly known: number;
  readonly mismatches: number;
  readonly summary: string;
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

export function verifyRestore(tool: Tool, expected: Expected, target: string): VerifyResult {
  const restored = join(target, expected.source);
  if (!existsSync(restored)) {
    return { ok: false, known: 0, mismatches: 1, summary: `restored path ${restored} does not exist` };
  }
  if (expected.kind === "file") {
    const r = sh("sha256sum", [restored], { timeoutS: 3600 });
    const got = r.stdout.split(" ")[0] ?? "";
    if (got === expected.sha256) return { ok: true, known: 0, mismatches: 0, summary: `sha256 ${got.slice(0, 16)}… matches` };
    return { ok: false, known: 0, mismatches: 1, summary: `sha256 ${got.slice(0, 16)}… != expected ${expected.sha256.slice(0, 16)}…` };
  }
  const r = sh("diff", ["-rq", "--no-dereference", expected.ref, restored], { timeoutS: 7200, quiet: true });
  if (r.code === 0) return { ok: true, known: 0, mismatches: 0, summary: "diff -r: identical" };
  if (r.code !== 1) return { ok: false, known: 0, mismatches: 1, summary: `diff failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}` };
  const lines = r.stdout.split("\n").filter((l) => l !== "");
  let known = 0;
  const real: string[] = [];
  for (const line of lines) {
    const m = /^Only in (.*): (.*)$/.exec(line);
    if (!tool.storesSymlinks && m !== null && m[1]!.startsWith(expected.ref) && isSymlink(join(m[1]!, m[2]!))) {
      known++;
      continue;
    }
    real.push(line);
  }
  const knownNote = known > 0 ? `; ${known} symlinks missing (known: ${tool.name} does not store symlinks)` : "";
  if (real.length === 0) return { ok: true, known, mismatches: 0, summary: `diff -r: identical except${knownNote.slice(1)}` };
  return {
    ok: false,
    known,
    mismatches: real.length,
    summary: `diff -r: ${real.length} differences${knownNote}; first: ${real.slice(0, 3).join(" | ")}`,
  };
}
