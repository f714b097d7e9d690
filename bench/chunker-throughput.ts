/** Throughput of chunkAll: `node --import tsx bench/chunker-throughput.ts [MiB]` (default 256 MiB), median of 3 runs. */
import { randomFillSync } from "node:crypto";
import { Chunker, chunkAll, gearTableFromKey } from "../src/chunker/cdc.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../src/chunker/params.ts";

const sizeMiB = Number.parseInt(process.argv[2] ?? "256", 10);
const data = randomFillSync(new Uint8Array(sizeMiB * 1024 * 1024));
const chunker = new Chunker(CHUNKER_PARAMS_DEFAULT, gearTableFromKey(randomFillSync(new Uint8Array(32))));

const rates: number[] = [];
let chunks = 0;
for (let run = 0; run < 3; run++) {
  chunks = 0;
  const t0 = process.hrtime.bigint();
  for (const _ of chunkAll(chunker, data)) chunks++;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  rates.push(data.length / 1e6 / seconds);
}
rates.sort((a, b) => a - b);
const mean = data.length / chunks;
console.log(
  `chunkAll over ${sizeMiB} MiB: ${rates[1]!.toFixed(0)} MB/s median of 3 ` +
    `(runs ${rates.map((r) => r.toFixed(0)).join(", ")}), ${chunks} chunks, mean ${(mean / 1024).toFixed(1)} KiB`,
);
