/**
 * A record's key (HMAC-SHA256 of its 16-byte salt): node:crypto's createHmac against keys.ts
 * recordKey (hmac-sha256.ts), interleaved in one process, thread CPU from /proc/thread-self/schedstat
 * (wall time on a shared machine counts the other sessions). Prints medians in µs per key.
 * Run: node --import tsx scripts/benchmarks/record-key.ts [keys per round] [rounds]
 */
import { createHmac, randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { recordKey } from "../../src/crypto/keys.ts";

const perRound = Number(process.argv[2] ?? 50_000);
const rounds = Number(process.argv[3] ?? 9);
const base = randomFillSync(new Uint8Array(32));
const salts = Array.from({ length: 256 }, () => randomFillSync(new Uint8Array(16)));
const cpuNs = (): number => Number(readFileSync("/proc/thread-self/schedstat", "latin1").split(" ")[0]);
const variants: [string, (salt: Uint8Array) => Uint8Array][] = [
  ["createHmac", (salt) => createHmac("sha256", base).update(salt).digest()],
  ["recordKey", (salt) => recordKey(base, salt)],
];
const times = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let round = -1; round < rounds; round++) {
  for (const [name, derive] of variants) {
    const start = cpuNs();
    for (let i = 0; i < perRound; i++) derive(salts[i & 255]!);
    if (round >= 0) times.get(name)!.push((cpuNs() - start) / 1e3 / perRound); // round -1 warms up
  }
}
for (const [name, list] of times) {
  list.sort((a, b) => a - b);
  console.log(`${name}: ${list[list.length >> 1]!.toFixed(2)} µs per key (CPU, median of ${rounds} × ${perRound}; ${list[0]!.toFixed(2)}-${list[list.length - 1]!.toFixed(2)})`);
}
