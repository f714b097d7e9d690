/**
 * Passphrase → key-encryption key with Argon2id (RFC 9106). Parameters live in each key slot;
 * caps are checked before any memory is allocated so a crafted header cannot exhaust the machine.
 */
import { channel } from "node:diagnostics_channel";
import { availableParallelism } from "node:os";
import { hashRaw, type Options as Argon2Options } from "@node-rs/argon2";
import { assert } from "../util/assert.ts";
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
 * Picks parameters at or above the floor that take about targetMs on this machine by raising the
 * iterations; memory stays at the floor's 64 MiB (RFC 9106's second option). Growing memory to
 * 1 GiB as cryptsetup does would make every unlock the biggest allocation of a backup on a small
 * server (peak RSS 680 MiB against a pipeline of ~200 MiB); restic caps its scrypt at 60 MiB too.
 */
const CALIBRATION_RUNS = 5;

export async function calibrateKdf(targetMs: number, timeMs: () => number = kdfWorkClock()): Promise<KdfParams> {
  const salt = new Uint8Array(KDF_SALT_SIZE_BYTES);
  const probe = new Uint8Array([0x73]);
  // The fastest of five runs (~35 ms each when idle): the first also starts the hashing threads and
  // faults in 64 MiB (~2x a warm run here), and the lanes' threads spin while they wait for each other,
  // so even CPU time grows when the machine is busy; the least disturbed run is the truest.
  let floorMs = Infinity;
  for (let run = 0; run < CALIBRATION_RUNS; run++) {
    const started = timeMs();
    await deriveKek(probe, salt, KDF_FLOOR);
    floorMs = Math.min(floorMs, Math.max(1, timeMs() - started));
  }
  const scale = targetMs / floorMs;
  if (scale <= 1) return KDF_FLOOR;
  const iterations = Math.min(KDF_ITERATIONS_MAX, Math.max(KDF_FLOOR.iterations, Math.floor(KDF_FLOOR.iterations * scale)));
  return { ...KDF_FLOOR, iterations };
}

/**
 * A clock for calibration that ignores load: the process's CPU milliseconds divided by the lanes that
 * run at once, which is the wall time of an idle machine. Timed by the wall clock, a vault created while
 * the machine was busy kept a cheaper KDF for good (t = 9 instead of ~20 under a load of 3).
 */
export function kdfWorkClock(): () => number {
  const lanes = Math.max(1, Math.min(KDF_FLOOR.parallelism, availableParallelism()));
  return () => {
    const used = process.cpuUsage();
    return (used.user + used.system) / 1000 / lanes;
  };
}
