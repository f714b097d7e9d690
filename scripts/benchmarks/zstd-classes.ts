/**
 * What zstd does with a tree's chunks, by kind of file (issue 5: is zstd slower on binaries, and
 * how much of its time goes to chunks stored raw because they save less than 1/32?). Cuts every
 * regular file with the real chunker (a random key, default sizes), compresses each chunk with the
 * vault's Codec at the default level, and prints per class: bytes, bytes stored, chunks stored raw,
 * and zstd's CPU time and speed. One thread; run it on a warm tree.
 * Run: node --import tsx scripts/benchmarks/zstd-classes.ts DIR
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Chunker, gearTableFromKey } from "../../src/chunker/cdc.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../../src/chunker/params.ts";
import { Codec } from "../../src/vault/compress.ts";

const root = process.argv[2];
if (root === undefined) throw new Error("usage: zstd-classes.ts DIR");
const chunker = new Chunker(CHUNKER_PARAMS_DEFAULT, gearTableFromKey(randomBytes(32)));
const codec = new Codec();

interface Tally {
  bytes: number;
  storedBytes: number;
  chunks: number;
  rawChunks: number;
  rawBytes: number;
  cpuUs: number;
  rawCpuUs: number;
}
const classes = new Map<string, Tally>();

/** ELF binaries, files already compressed by their format, and everything else. */
function classOf(path: string, head: Uint8Array): string {
  if (head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return "ELF";
  if (/\.(gz|xz|bz2|zst|lz4|zip|jar|png|jpe?g|gif|webp|woff2?|mo)$/i.test(path)) return "compressed format";
  return "other";
}

function add(path: string): void {
  const data = readFileSync(path);
  const name = classOf(path, data);
  const tally = classes.get(name) ?? { bytes: 0, storedBytes: 0, chunks: 0, rawChunks: 0, rawBytes: 0, cpuUs: 0, rawCpuUs: 0 };
  classes.set(name, tally);
  for (let start = 0; start < data.byteLength; ) {
    const length = chunker.nextCut(data, start, data.byteLength, true);
    const chunk = data.subarray(start, start + length);
    start += length;
    const before = process.cpuUsage();
    const { flags, payload } = codec.compress(chunk);
    const used = process.cpuUsage(before);
    const us = used.user + used.system;
    tally.bytes += chunk.byteLength;
    tally.storedBytes += payload.byteLength;
    tally.chunks++;
    tally.cpuUs += us;
    if (flags === 0) {
      tally.rawChunks++;
      tally.rawBytes += chunk.byteLength;
      tally.rawCpuUs += us;
    }
  }
}

function walk(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else if (entry.isFile()) add(path);
  }
}

walk(root);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
console.log("class | MB | MB stored | chunks stored raw (MB) | zstd CPU-s (of it on raw chunks) | MB per CPU-s");
for (const [name, t] of classes) {
  console.log(
    `${name} | ${mb(t.bytes)} | ${mb(t.storedBytes)} | ${t.rawChunks} of ${t.chunks} (${mb(t.rawBytes)}) | ` +
      `${(t.cpuUs / 1e6).toFixed(2)} (${(t.rawCpuUs / 1e6).toFixed(2)}) | ${(t.bytes / t.cpuUs).toFixed(0)}`,
  );
}
