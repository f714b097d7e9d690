/**
 * Passphrase → key-encryption key with Argon2id (RFC 9106). Parameters live in each key slot;
 * caps are checked before any memory is allocated so a crafted header cannot exhaust the machine.
 */
import { channel } from "node:diagnostics_channel";
import { availableParallelism } from "node:os";
import type { Options as Argon2Options } from "@node-rs/argon2";
import { assert } from "../util/assert.ts";
import { loadNapiAddon } from "../util/native-addon.ts";
import { KEY_SIZE_BYTES } from "./keys.ts";

export interface KdfParams {
  /** Passes over memory (Argon2 t). */
  readonly iterations: number;
  /** Memory in KiB (Argon2 m). */
  readonly memoryKiB: number;
  /** Lanes (Argon2 p). */
  readonly parallelism: number;
}

/** RFC 9106 §4 second recommended option: the floor for `init` without --insecure-kdf. */
export const KDF_FLOOR: KdfParams = { iterations: 3, memoryKiB: 64 * 1024, parallelism: 4 };
/** Refused when read from a header: bounds the work an attacker-supplied slot can demand. */
export const KDF_MEMORY_MAX_KIB = 4 * 1024 * 1024;
export const KDF_ITERATIONS_MAX = 64;
export const KDF_PARALLELISM_MAX = 16;
export const KDF_SALT_SIZE_BYTES = 32;
export { KEY_SIZE_BYTES };

const { hashRaw } = loadNapiAddon<typeof import("@node-rs/argon2")>("@node-rs/argon2");

// The package declares these as const enums, which do not exist at run time.
const ARGON2ID = 2 as NonNullable<Argon2Options["algorithm"]>;
const ARGON2_VERSION_13 = 1 as NonNullable<Argon2Options["version"]>;

export function kdfParamsProblem(params: KdfParams): string | null {
  if (!Number.isInteger(params.iterations) || params.iterations < 1 || params.iterations > KDF_ITERATIONS_MAX) {
    return `KDF iterations ${params.iterations} outside 1..${KDF_ITERATIONS_MAX}`;
  }
  if (!Number.isInteger(params.parallelism) || params.parallelism < 1 || params.parallelism > KDF_PARALLELISM_MAX) {
    return `KDF parallelism ${params.parallelism} outside 1..${KDF_PARALLELISM_MAX}`;
  }
  const memoryMinKiB = 8 * params.parallelism;
  if (!Number.isInteger(params.memoryKiB) || params.memoryKiB < memoryMinKiB || params.memoryKiB > KDF_MEMORY_MAX_KIB) {
    return `KDF memory ${params.memoryKiB} KiB outside ${memoryMinKiB}..${KDF_MEMORY_MAX_KIB}`;
  }
  return null;
}

export function isBelowFloor(params: KdfParams): boolean {
  return (
    params.memoryKiB < KDF_FLOOR.memoryKiB ||
    params.iterations < KDF_FLOOR.iterations ||
    params.parallelism < KDF_FLOOR.parallelism
  );
}

/** Passphrases are NFC-normalized so the same text typed on different systems opens the vault. */
export function passphraseBytes(passphrase: string): Buffer {
  return Buffer.from(passphrase.normalize("NFC"), "utf8");
}

/** What one derivation cost; published on KDF_CHANNEL for `SUEDE_DEBUG=1` (src/cli/memory-report.ts). */
export interface KdfTiming {
  readonly params: KdfParams;
  readonly ms: number;
  /** When it started, in ms since the process started (performance.now()). */
  readonly startedMs: number;
}
/** Unlock time is reported apart from start-up (issue 5); publishing costs nothing without a subscriber. */
export const KDF_CHANNEL = "suede:kdf";
const kdfChannel = channel(KDF_CHANNEL);

export async function deriveKek(secret: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<Uint8Array> {
  const problem = kdfParamsProblem(params);
  assert(problem === null, problem ?? "");
  assert(salt.byteLength === KDF_SALT_SIZE_BYTES, "KDF salt must be 32 bytes");
  const started = performance.now();
  const key = await hashRaw(Buffer.from(secret), {
    algorithm: ARGON2ID,
    version: ARGON2_VERSION_13,
    timeCost: params.iterations,
    memoryCost: params.memoryKiB,
    parallelism: params.parallelism,
    outputLen: KEY_SIZE_BYTES,
    salt: Buffer.from(salt),
  });
  if (kdfChannel.hasSubscribers) kdfChannel.publish({ params, ms: performance.now() - started, startedMs: started } satisfies KdfTiming);
  return new Uint8Array(key);
}

/**
 * Picks parameters at or above the floor that take about targetMs on this machine when idle by raising
 * the iterations; memory stays at the floor's 64 MiB (RFC 9106's second option). Growing memory to
 * 1 GiB as cryptsetup does would make every unlock the biggest allocation of a backup on a small
 * server (peak RSS 680 MiB against a pipeline of ~200 MiB); restic caps its scrypt at 60 MiB too.
 *
 * It times ONE lane (p = 1 does the same m·t block work as p = 4) and scales by the lanes' speedup.
 * Timing the four lanes themselves gave t = 23–50 for vaults made minutes apart: their threads spin
 * while they wait for each other, so any other load on the cores (writeback after a copy, a build)
 * inflated the CPU time of all five runs. One lane has nothing to wait for: t = 32–42 under a load of 8.
 */
const CALIBRATION_RUNS = 7;
const ONE_LANE: KdfParams = { ...KDF_FLOOR, parallelism: 1 };

export async function calibrateKdf(
  targetMs: number,
  timeMs: () => number = kdfWorkClock(),
  cores: number = availableParallelism(),
): Promise<KdfParams> {
  const salt = new Uint8Array(KDF_SALT_SIZE_BYTES);
  const probe = new Uint8Array([0x73]);
  // The fastest run counts: the first also faults in 64 MiB and starts the thread, later ones may be
  // slowed by other work sharing the core (never sped up).
  let runMs = Infinity;
  for (let run = 0; run < CALIBRATION_RUNS; run++) {
    const started = timeMs();
    await deriveKek(probe, salt, ONE_LANE);
    runMs = Math.min(runMs, Math.max(1, timeMs() - started));
  }
  const passMs = runMs / ONE_LANE.iterations;
  const lanesAtOnce = Math.max(1, Math.min(KDF_FLOOR.parallelism, cores));
  const wanted = Math.floor((targetMs * laneSpeedup(lanesAtOnce)) / passMs);
  return { ...KDF_FLOOR, iterations: Math.min(KDF_ITERATIONS_MAX, Math.max(KDF_FLOOR.iterations, wanted)) };
}

/**
 * How much faster p = 4 lanes finish than one when `lanesAtOnce` cores run them: half a core's worth
 * per extra core, as measured on 2 cores here (1.42–1.51×: the lanes share memory bandwidth and wait
 * for each other four times a pass). A model, not a measurement, on other machines: the unlock there
 * may land some way off 0.5 s, but the work (t) only scales with the single-lane speed measured.
 */
export function laneSpeedup(lanesAtOnce: number): number {
  return (1 + lanesAtOnce) / 2;
}

/**
 * A clock for calibration that ignores load: the process's CPU milliseconds. Timed by the wall clock,
 * a vault created while the machine was busy kept a cheaper KDF for good (t = 9 instead of ~20 under a
 * load of 3); one lane's CPU time is its work, however long it waited for a core.
 */
export function kdfWorkClock(): () => number {
  return () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000;
  };
}
