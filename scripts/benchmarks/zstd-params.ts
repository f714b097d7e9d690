/**
 * zstd parameter sets on a file's chunks (issue 5: is there a set cheaper than level 3 that keeps
 * the vault no larger?). Cuts MiB of FILE from OFFSET MiB with the real chunker (random key, default
 * sizes), skips zero chunks (holes), compresses every chunk with each set (one reused context, as
 * vault/compress.ts does) and prints the CPU time (median of 3, the sets interleaved) and the bytes
 * stored (a chunk saving less than 1/32 counts raw), both against the first set.
 * Run: node --import tsx scripts/benchmarks/zstd-params.ts FILE MiB OFFSET_MiB '[["L3",{"compressionLevel":3}], ...]'
 * ("compressCCtx": ZSTD_compressCCtx at level 3, which takes the source size; compress2 otherwise.)
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import binding from "zstd-napi/binding.js";
import { Chunker, gearTableFromKey } from "../../src/chunker/cdc.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../../src/chunker/params.ts";

const [path, mib, offsetMib, setsJson] = process.argv.slice(2);
if (path === undefined || setsJson === undefined) throw new Error("usage: zstd-params.ts FILE MiB OFFSET_MiB SETS_JSON");
const bytes = Number(mib) * 1048576;
const data = Buffer.allocUnsafe(bytes);
const fd = openSync(path, "r");
let filled = 0;
while (filled < bytes) {
  const n = readSync(fd, data, filled, bytes - filled, filled + Number(offsetMib) * 1048576);
  if (n <= 0) break;
  filled += n;
}
closeSync(fd);
const chunker = new Chunker(CHUNKER_PARAMS_DEFAULT, gearTableFromKey(randomBytes(32)));
const chunks: Buffer[] = [];
for (let start = 0; start < filled; ) {
  const length = chunker.nextCut(data, start, filled, true);
  const chunk = data.subarray(start, start + length);
  start += length;
  if (!chunk.every((b) => b === 0)) chunks.push(chunk);
}
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
