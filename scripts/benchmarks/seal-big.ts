/**
 * Where sealing a big file's chunks goes (issue 5: the first backup of the 512 MiB file costs ~3
 * CPU-s more than the edit re-run, which reads, cuts and names the same bytes). Cuts the file with
 * the real chunker (random key, default sizes), skips zero chunks (holes), and times per pass, one
 * thread, CPU time: zstd alone, AES-GCM of the stored payloads alone, the record-key HMAC, and
 * sealBlob (each record its own fresh buffer, as before issue 5's change) against sealBlobRun (a
 * block's records in one exactly sized buffer, as file-worker.ts seals now).
 * Run: node --import tsx scripts/benchmarks/seal-big.ts FILE [MiB to use, default 192]
 */
import { createCipheriv, randomBytes, randomFillSync } from "node:crypto";
import { statSync } from "node:fs";
import { recordKey } from "../../src/crypto/keys.ts";
import { systemRandom } from "../../src/util/random.ts";
import { Codec } from "../../src/vault/compress.ts";
import { RecordKind } from "../../src/vault/format.ts";
import { sealBlob, sealBlobRun } from "../../src/vault/seal.ts";
import { fileChunks } from "./file-chunks.ts";

const path = process.argv[2];
if (path === undefined) throw new Error("usage: seal-big.ts FILE [MiB]");
const bytes = Number(process.argv[3] ?? 192) * 1024 * 1024;
const chunks: Uint8Array[] = fileChunks(path, bytes);
const keys = { vaultId: randomFillSync(new Uint8Array(16)), recordBase: randomFillSync(new Uint8Array(32)) };
const id = new Uint8Array(32);
const codec = new Codec();
const payloads = chunks.map((chunk) => Uint8Array.from(codec.compress(chunk).payload));
const key = randomBytes(32);
const nonce = randomBytes(12);
const aad = new Uint8Array(64);

function cpu(pass: () => void): number {
  const before = process.cpuUsage();
  pass();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

const passes: Record<string, () => void> = {
  "zstd (Codec.compress)": () => {
    for (const chunk of chunks) codec.compress(chunk);
  },
  "AES-256-GCM of the payloads (update + final + tag)": () => {
    for (const payload of payloads) {
      const cipher = createCipheriv("aes-256-gcm", key, nonce);
      cipher.setAAD(aad);
      cipher.update(payload);
      cipher.final();
      cipher.getAuthTag();
    }
  },
  "record key HMAC": () => {
    for (let i = 0; i < chunks.length; i++) recordKey(keys.recordBase, systemRandom.bytes(16));
  },
  "sealBlob (a fresh buffer per record)": () => {
    for (const chunk of chunks) sealBlob(keys, systemRandom, codec, RecordKind.data, id, chunk);
  },
  "sealBlobRun (one buffer per ~1 MiB block)": () => {
    for (let start = 0; start < chunks.length; start += 16) {
      const block = chunks.slice(start, start + 16);
      sealBlobRun(keys, systemRandom, codec, RecordKind.data, block.map(() => id), block);
    }
  },
};

const mib = (Math.min(bytes, statSync(path).size) / 1048576).toFixed(0);
const rawBytes = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
const storedBytes = payloads.reduce((sum, payload) => sum + payload.byteLength, 0);
console.log(`${mib} MiB, ${chunks.length} non-zero chunks, ${(rawBytes / 1e6).toFixed(1)} MB -> ${(storedBytes / 1e6).toFixed(1)} MB stored`);
const times = new Map<string, number[]>(Object.keys(passes).map((name) => [name, []]));
for (let round = 0; round < 5; round++) for (const [name, pass] of Object.entries(passes)) times.get(name)!.push(cpu(pass));
for (const [name, runs] of times) {
  const median = runs.sort((a, b) => a - b)[2]!;
  console.log(`${name}: ${median.toFixed(3)} CPU-s (${((median / rawBytes) * 1e9 * 65536 / 1e3).toFixed(1)} µs per 64 KiB)`);
}
