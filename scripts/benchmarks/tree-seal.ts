/**
 * CPU per tree part of what storeTree does after encoding (issue 5: a usr first backup seals ~2,700
 * tree parts on the main thread): the blob ID, zstd, and the whole sealBlob, over real tree parts.
 * Parts file: 4-byte little-endian length + bytes, repeated (dumped from a usr first backup's storeTree).
 * Run: node --import tsx scripts/benchmarks/tree-seal.ts PARTS.bin [rounds]
 */
import { randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { blobIdHasher } from "../../src/crypto/blob-id.ts";
import { systemRandom } from "../../src/util/random.ts";
import { Codec } from "../../src/vault/compress.ts";
import { RecordKind } from "../../src/vault/format.ts";
import { sealBlob } from "../../src/vault/seal.ts";

const file = readFileSync(process.argv[2] ?? "/tmp/tree11-parts.bin");
const rounds = Number(process.argv[3] ?? 7);
const parts: Uint8Array[] = [];
for (let at = 0; at < file.byteLength; ) {
  const length = file.readUInt32LE(at);
  parts.push(file.subarray(at + 4, at + 4 + length));
  at += 4 + length;
}
const keys = { vaultId: randomFillSync(new Uint8Array(16)), recordBase: randomFillSync(new Uint8Array(32)) };
const codec = new Codec();
const hash = blobIdHasher(randomFillSync(new Uint8Array(32)));
const id = new Uint8Array(32);
let stored = 0;
const steps: Record<string, () => void> = {
  blobId: () => { for (const part of parts) hash(part); },
  compress: () => { for (const part of parts) stored += codec.compress(part).payload.byteLength; },
  sealBlob: () => { for (const part of parts) sealBlob(keys, systemRandom, codec, RecordKind.tree, id, part); },
};
const cpuUs = (run: () => void): number => {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / parts.length;
};
const results: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) for (const [name, run] of Object.entries(steps)) (results[name] ??= []).push(cpuUs(run));
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const raw = parts.reduce((sum, part) => sum + part.byteLength, 0);
console.log(`${parts.length} parts, ${raw} bytes raw, ${Math.round(stored / rounds)} stored by zstd; CPU µs per part, first round / median of ${rounds}:`);
for (const [name, values] of Object.entries(results)) console.log(`  ${name} ${values[0]!.toFixed(1)} / ${median(values).toFixed(1)}`);
