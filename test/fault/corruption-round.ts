// One soak corruption round: damage a copy of the vault at random places (bit flips and random
// byte runs anywhere in the file), then hold suede to the damage promises of docs/GUARANTEES.md:
// - every step ends normally or with a SuedeError (never another exception);
// - if `check --read-data` finds nothing, the damage was harmless (dead space, one of two header
//   copies) and every snapshot must still restore byte-exact: damage that check misses is a loss;
// - if check finds something, restores may leave files out but must report them, and every file
//   they do write holds exactly the bytes that were backed up.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { type RestoreResult, SuedeError, SuedeVault } from "../../src/index.ts";
import { compareTrees } from "../helpers/compare-trees.ts";
import type { Prng } from "../helpers/prng.ts";
import { orSuedeError } from "../helpers/suede-error.ts";

export type CorruptionOutcome = "refused at open" | "detected by check" | "harmless";

export interface CorruptionCounts {
  corruptions: number;
  refusedAtOpen: number;
  detectedByCheck: number;
  harmless: number;
  filesReportedDamaged: number;
  filesVerifiedAfterDamage: number;
}

export function emptyCorruptionCounts(): CorruptionCounts {
  return { corruptions: 0, refusedAtOpen: 0, detectedByCheck: 0, harmless: 0, filesReportedDamaged: 0, filesVerifiedAfterDamage: 0 };
}

/** Flips 1–3 random bits or overwrites 1–3 runs of 1–256 random bytes, anywhere in the file. */
function damage(path: string, prng: Prng): string {
  const bytes = readFileSync(path);
  const what: string[] = [];
  const hits = 1 + prng.below(3);
  for (let i = 0; i < hits; i++) {
    const at = prng.below(bytes.byteLength);
    if (prng.below(2) === 0) {
      const bit = prng.below(8);
      bytes[at]! ^= 1 << bit;
      what.push(`flip bit ${bit} at ${at}`);
    } else {
      const run = prng.bytes(1 + prng.below(256)).subarray(0, bytes.byteLength - at);
      bytes.set(run, at);
      what.push(`${run.byteLength} random bytes at ${at}`);
    }
  }
  writeFileSync(path, bytes);
  return what.join(", ");
}

function regularFiles(root: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

/**
 * Damages a copy of `vaultPath` and checks the promises above against `sources` (snapshot number →
 * the unchanging directory it was taken of). Throws on a broken promise; returns what happened.
 */
export async function corruptionRound(
  vaultPath: string,
  scratch: string,
  secret: { passphrase: string },
  sources: ReadonlyMap<number, string>,
  prng: Prng,
  counts: CorruptionCounts,
): Promise<CorruptionOutcome> {
  const copy = join(scratch, "damaged.suede");
  copyFileSync(vaultPath, copy);
  const how = damage(copy, prng);
  const context = `after ${how} (file of ${statSync(copy).size} bytes)`;
  counts.corruptions++;
  try {
    const vault = await orSuedeError(`open ${context}`, () => SuedeVault.open(copy, { secret, writable: false }));
    if (vault instanceof SuedeError) {
      counts.refusedAtOpen++;
      return "refused at open";
    }
    try {
      const report = await orSuedeError(`check ${context}`, () => vault.check({ readData: true }));
      const clean = !(report instanceof SuedeError) && report.problems.length === 0;
      for (const [number, source] of sources) {
        const target = join(scratch, `damaged-restore-${number}`);
        try {
          const result: RestoreResult | SuedeError = await orSuedeError(`restore ${number} ${context}`, (): Promise<RestoreResult> => vault.restore(number, { target }));
          if (clean) {
            assert.ok(!(result instanceof SuedeError), `check passed ${context}, yet restoring snapshot ${number} failed: ${String(result)}`);
            assert.deepEqual(result.failed, [], `check passed ${context}, yet snapshot ${number} restored with failures`);
            assert.deepEqual(await compareTrees(source, join(target, source)), [], `check passed ${context}, yet snapshot ${number} does not restore byte-exact`);
            continue;
          }
          if (result instanceof SuedeError) continue;
          counts.filesReportedDamaged += result.failed.length;
          const restoredRoot = join(target, source);
          let written = 0;
          for (const file of regularFiles(target)) {
            const rel = relative(restoredRoot, file);
            assert.ok(readFileSync(join(source, rel)).equals(readFileSync(file)), `snapshot ${number}: ${rel} restored with wrong bytes ${context}`);
            written++;
          }
          counts.filesVerifiedAfterDamage += written;
          const expected = regularFiles(source).length;
          if (written < expected) assert.ok(result.failed.length > 0, `snapshot ${number}: ${expected - written} files left out silently ${context}`);
        } finally {
          rmSync(target, { recursive: true, force: true });
        }
      }
      if (clean) {
        counts.harmless++;
        return "harmless";
      }
      counts.detectedByCheck++;
      return "detected by check";
    } finally {
      await vault.close();
    }
  } finally {
    rmSync(copy, { force: true });
  }
}
