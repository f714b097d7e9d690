/**
 * CPU of cutting a file with the chunker as the file worker feeds it (issue 5: the gear loop was 15%
 * of the 512 MiB file's first backup): 1 MiB blocks read into a reused Uint8Array with the uncut
 * tail carried over, nextCut until it asks for more. One thread, CPU time per pass; prints the chunk
 * count and a checksum of the lengths, which must not change between builds (same cuts).
 * Run: node --import tsx scripts/benchmarks/chunk-cpu.ts FILE [PASSES=6]
 */
import { closeSync, openSync, readSync } from "node:fs";
import { Chunker, gearTableFromKey } from "../../src/chunker/cdc.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../../src/chunker/params.ts";

const path = process.argv[2];
if (path === undefined) throw new Error("usage: chunk-cpu.ts FILE [PASSES]");
const passes = Number(process.argv[3] ?? 6);
const chunker = new Chunker(CHUNKER_PARAMS_DEFAULT, gearTableFromKey(new Uint8Array(32).fill(7)));
const BLOCK = 1024 * 1024 + CHUNKER_PARAMS_DEFAULT.maxSizeBytes;

function pass(): { chunks: number; checksum: number; cpuMs: number } {
  const fd = openSync(path!, "r");
  let buffer = new Uint8Array(BLOCK);
  let spare = new Uint8Array(BLOCK);
  let filled = 0;
  let eof = false;
  let chunks = 0;
  let checksum = 0;
  let cpu = 0;
  try {
    for (;;) {
      while (!eof && filled < buffer.length) {
        const bytesRead = readSync(fd, buffer, filled, buffer.length - filled, null);
        if (bytesRead === 0) eof = true;
        filled += bytesRead;
      }
      const before = process.cpuUsage();
      let start = 0;
      for (;;) {
        const length = chunker.nextCut(buffer, start, filled, eof);
        if (length <= 0) break;
        checksum = (Math.imul(checksum, 31) + length) | 0;
        chunks++;
        start += length;
      }
      const used = process.cpuUsage(before);
      cpu += (used.user + used.system) / 1000;
      spare.set(buffer.subarray(start, filled));
      filled -= start;
      [buffer, spare] = [spare, buffer];
      if (eof && filled === 0) break;
    }
  } finally {
    closeSync(fd);
  }
  return { chunks, checksum, cpuMs: cpu };
}

const times: number[] = [];
let last = { chunks: 0, checksum: 0 };
for (let i = 0; i < passes; i++) {
  const result = pass();
  times.push(result.cpuMs);
  last = result;
}
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `${last.chunks} chunks, checksum ${last.checksum}; cutting CPU ms per pass: min ${sorted[0]!.toFixed(0)}, median ${sorted[sorted.length >> 1]!.toFixed(0)} (${times.map((t) => t.toFixed(0)).join(" ")})`,
);
