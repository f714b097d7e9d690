/** The only source of randomness for salts, keys and record nonces. */
import { randomFillSync } from "node:crypto";

export interface Random {
  bytes(sizeBytes: number): Uint8Array;
}

/**
 * Small requests (a record's 16-byte salt) are served from a pool refilled 4 KiB at a time: one
 * randomFillSync call per record cost more than the HMAC that derives its key. Each pooled byte
 * is handed out once, as the caller's own copy; keys (32 bytes) and larger go straight through.
 */
const POOL_BYTES = 4096;
const POOLED_MAX_BYTES = 16;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;

export const systemRandom: Random = {
  bytes(sizeBytes: number): Uint8Array {
    if (sizeBytes > POOLED_MAX_BYTES) return randomFillSync(new Uint8Array(sizeBytes));
    if (used + sizeBytes > POOL_BYTES) {
      randomFillSync(pool);
      used = 0;
    }
    const out = pool.slice(used, used + sizeBytes);
    // Wiped once taken: what was handed out does not stay readable in the pool.
    pool.fill(0, used, used + sizeBytes);
    used += sizeBytes;
    return out;
  },
};
