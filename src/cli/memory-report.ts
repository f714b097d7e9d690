/**
 * SUEDE_DEBUG=1: where a command's time and memory went. Samples the main thread's heap, external
 * and array-buffer bytes every 100 ms and prints their peaks with the process's peak RSS (which
 * includes the worker threads' heaps) to stderr when the command ends; each unlock's Argon2id run
 * is printed as it ends, so start-up and unlock can be told apart; and a timeline of the steps around
 * a vault (secret read, library loaded, unlock, opened, command done, closed) when the command ends.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { KdfTiming } from "../crypto/kdf.ts";
import { PHASE_CHANNEL } from "../util/phase.ts";

/** KDF_CHANNEL in src/crypto/kdf.ts, spelled out: importing it would load the argon2 addon here. */
const KDF_CHANNEL = "suede:kdf";
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const phases: string[] = [];

function recordPhase(name: unknown): void {
  phases.push(`${String(name)} ${performance.now().toFixed(0)}`);
}

function reportKdf(message: unknown): void {
  const { params, ms, startedMs } = message as KdfTiming;
  const memory = params.memoryKiB % 1024 === 0 ? `${params.memoryKiB / 1024} MiB` : `${params.memoryKiB} KiB`;
  phases.push(`kdf ${startedMs.toFixed(0)}-${(startedMs + ms).toFixed(0)}`);
  process.stderr.write(
    `suede: debug: unlock KDF (Argon2id t=${params.iterations}, m=${memory}, p=${params.parallelism}) ` +
      `${ms.toFixed(0)} ms; peak RSS by then ${mib(process.resourceUsage().maxRSS * 1024)}, RSS after ${mib(process.memoryUsage.rss())}\n`,
  );
}

export function startMemoryReport(): () => void {
  subscribe(KDF_CHANNEL, reportKdf);
  subscribe(PHASE_CHANNEL, recordPhase);
  recordPhase("cli"); // node has started and loaded the CLI's entry module
  const peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, usage.heapUsed);
    peak.heapTotal = Math.max(peak.heapTotal, usage.heapTotal);
    peak.external = Math.max(peak.external, usage.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, usage.arrayBuffers);
  };
  const timer = setInterval(sample, 100);
  timer.unref();
  return () => {
    clearInterval(timer);
    unsubscribe(KDF_CHANNEL, reportKdf);
    unsubscribe(PHASE_CHANNEL, recordPhase);
    sample();
    if (phases.length > 0) process.stderr.write(`suede: debug: timeline, ms since node started: ${phases.join(", ")}\n`);
    process.stderr.write(
      `suede: debug: ${performance.now().toFixed(0)} ms since node started; peak RSS ${mib(process.resourceUsage().maxRSS * 1024)}; ` +
        `main thread peaks: heap used ${mib(peak.heapUsed)} (of ${mib(peak.heapTotal)}), external ${mib(peak.external)} (array buffers ${mib(peak.arrayBuffers)})\n`,
    );
  };
}
