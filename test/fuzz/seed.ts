// Shared fuzz settings: one seed per run (SUEDE_FC_SEED to replay, always printed) and a run count
// scaled by SUEDE_FUZZ_RUNS (a multiplier; the default keeps all fuzz files near 45 s on 2 cores).
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";

const envSeed = process.env["SUEDE_FC_SEED"];
export const FUZZ_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FUZZ_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);

const envRuns = process.env["SUEDE_FUZZ_RUNS"];
const SCALE = envRuns === undefined ? 1 : Number.parseFloat(envRuns);
assert.ok(Number.isFinite(SCALE) && SCALE > 0, `SUEDE_FUZZ_RUNS must be a positive number, got ${envRuns}`);

export function runs(base: number): number {
  return Math.max(1, Math.round(base * SCALE));
}

export const SEED_NOTE = `fuzz seed ${FUZZ_SEED} (rerun with SUEDE_FC_SEED=${FUZZ_SEED}; scale with SUEDE_FUZZ_RUNS=<factor>)`;
console.log(`# ${SEED_NOTE}`);
