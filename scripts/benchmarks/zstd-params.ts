/**
 * zstd parameter sets on a file's chunks (issue 5: is there a set cheaper than level 3 that keeps
 * the vault no larger?). Cuts MiB of FILE from OFFSET MiB with the real chunker (random key, default
 * sizes), skips zero chunks (holes), compresses every chunk with each set (one reused context, as
 * vault/compress.ts does) and prints the CPU time (median of 3, the sets interleaved) and the bytes
 * stored (a chunk saving less than 1/32 counts raw), both against the first set.
 * Run: node --import tsx scripts/benchmarks/zstd-params.ts FILE MiB OFFSET_MiB '[["L3",{"compressionLevel":3}], ...]'
 * ("compressCCtx": ZSTD_compressCCtx at level 3, which takes the source size; compress2 otherwise.)
 */
import binding from "zstd-napi/binding.js";
import { CHUNKER_PARAMS_DEFAULT } from "../../src/chunker/params.ts";
import { fileChunks } from "./file-chunks.ts";

const [path, mib, offsetMib, setsJson] = process.argv.slice(2);
if (path === undefined || setsJson === undefined) throw new Error("usage: zstd-params.ts FILE MiB OFFSET_MiB SETS_JSON");
const bytes = Number(mib) * 1048576;
const chunks = fileChunks(path, bytes, Number(offsetMib) * 1048576);
const out = Buffer.allocUnsafe(binding.compressBound(CHUNKER_PARAMS_DEFAULT.maxSizeBytes));

function run(params: Record<string, number>): { cpu: number; stored: number } {
  const cctx = new binding.CCtx();
  for (const [name, value] of Object.entries(params)) {
    if (name !== "compressCCtx") cctx.setParameter(binding.CParameter[name as keyof typeof binding.CParameter], value);
  }
  const byLevel = params.compressCCtx !== undefined;
  const before = process.cpuUsage();
  let stored = 0;
  for (const chunk of chunks) {
    const n = byLevel ? cctx.compress(out, chunk, 3) : cctx.compress2(out, chunk);
    stored += n > chunk.byteLength - (chunk.byteLength >> 5) ? chunk.byteLength : n;
  }
  const used = process.cpuUsage(before);
  return { cpu: (used.user + used.system) / 1e6, stored };
}

const sets = JSON.parse(setsJson) as [string, Record<string, number>][];
const results = new Map<string, { cpu: number[]; stored: number }>();
for (let round = 0; round < 3; round++) {
  for (const [name, params] of sets) {
    const { cpu, stored } = run(params);
    const entry = results.get(name) ?? { cpu: [], stored };
    entry.cpu.push(cpu);
    results.set(name, entry);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[1]!;
const base = results.get(sets[0]![0])!;
for (const [name, entry] of results) {
  const cpu = median(entry.cpu);
  console.log(
    `${name.padEnd(28)} ${cpu.toFixed(3)} CPU-s (×${(cpu / median(base.cpu)).toFixed(3)})  ` +
      `${(entry.stored / 1e6).toFixed(2)} MB stored (${((entry.stored / base.stored - 1) * 100).toFixed(2)}%)`,
  );
}
