/**
 * Per-record cost of sealing small blobs (the first backup of many small files spends most of its
 * worker time here): compress, salt, key derivation, two AES-GCM seals. Prints µs per record.
 * Run: node --import tsx scripts/benchmarks/seal-small.ts [records]
 */
import { randomFillSync } from "node:crypto";
import { systemRandom } from "../../src/util/random.ts";
import { Codec } from "../../src/vault/compress.ts";
import { RecordKind } from "../../src/vault/format.ts";
import { sealBlob } from "../../src/vault/seal.ts";

const count = Number(process.argv[2] ?? 100_000);
const keys = { vaultId: randomFillSync(new Uint8Array(16)), recordBase: randomFillSync(new Uint8Array(32)) };
const codec = new Codec();
const letters = Buffer.from("abcdefghijklmnop\n ");
const id = new Uint8Array(32);
// 64 pieces of 32 B – 2 KiB of letters, as in the manyfiles dataset.
const pieces = Array.from({ length: 64 }, (_, i) => {
  const piece = new Uint8Array(32 + ((i * 997) % 2016));
  randomFillSync(piece);
  for (let k = 0; k < piece.byteLength; k++) piece[k] = letters[piece[k]! % letters.byteLength]!;
  return piece;
});

function run(n: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) sealBlob(keys, systemRandom, codec, RecordKind.data, id, pieces[i % pieces.length]!);
  return Number(process.hrtime.bigint() - start) / 1e3 / n;
}

run(Math.min(count, 10_000)); // warm-up
const runs = [run(count), run(count), run(count)].sort((a, b) => a - b);
console.log(`sealBlob, small pieces: ${runs[1]!.toFixed(2)} µs per record (median of 3 × ${count})`);
