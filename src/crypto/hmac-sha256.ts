/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) of short messages under one fixed key, in JavaScript. Every
 * record sealed or opened derives its key with one such MAC of its 16-byte salt (keys.ts
 * recordKey): node:crypto's createHmac costs a native object, an OpenSSL context and a digest
 * buffer per call (2-5 µs each, ~4.5 µs per record in a first backup's workers, issue 5); here the
 * key's inner and outer pads are hashed once and each MAC is two SHA-256 compressions (~1 µs).
 * The bytes are createHmac's (hmac-sha256.test.ts: RFC 4231 vectors and random cases). Timing
 * does not depend on the key or the message: only 32-bit additions, shifts and logic, no lookups
 * indexed by secret data.
 */
import { assert } from "../util/assert.ts";

const BLOCK_BYTES = 64;
/** A message this long or shorter fits one block with SHA-256's padding (0x80 and a 64-bit length). */
export const HMAC_MESSAGE_MAX_BYTES = BLOCK_BYTES - 9;

/** FIPS 180-4 §4.2.2 and §5.3.3. */
const ROUND_CONSTANTS = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INITIAL_STATE = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** The message schedule: words 0-15 are the block being compressed (one scratch, calls are synchronous). */
const schedule = new Int32Array(64);
const middle = new Int32Array(8);

/** One SHA-256 compression of `schedule`'s first 16 words into `from`'s state, written to `to`. */
function compress(from: Int32Array, to: Int32Array): void {
  const w = schedule;
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = from[0]!, b = from[1]!, c = from[2]!, d = from[3]!, e = from[4]!, f = from[5]!, g = from[6]!, h = from[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + ROUND_CONSTANTS[i]! + w[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  to[0] = (from[0]! + a) | 0;
  to[1] = (from[1]! + b) | 0;
  to[2] = (from[2]! + c) | 0;
  to[3] = (from[3]! + d) | 0;
  to[4] = (from[4]! + e) | 0;
  to[5] = (from[5]! + f) | 0;
  to[6] = (from[6]! + g) | 0;
  to[7] = (from[7]! + h) | 0;
}

/** The state after the key XOR pad (one whole block): HMAC's inner or outer hash starts from it. */
function padState(key: Uint8Array, pad: number): Int32Array {
  for (let i = 0; i < 16; i++) {
    let word = 0;
    for (let k = 0; k < 4; k++) word = (word << 8) | ((key[4 * i + k] ?? 0) ^ pad);
    schedule[i] = word;
  }
  const state = new Int32Array(8);
  compress(INITIAL_STATE, state);
  return state;
}

/** Words 0-15 of the schedule: `bytes` (at most HMAC_MESSAGE_MAX_BYTES), 0x80, zeros, then the bit length of the pad block and them. */
function loadFinalBlock(bytes: Uint8Array): void {
  schedule.fill(0, 0, 16);
  for (let i = 0; i < bytes.byteLength; i++) schedule[i >>> 2] = schedule[i >>> 2]! | (bytes[i]! << (24 - 8 * (i & 3)));
  const end = bytes.byteLength;
  schedule[end >>> 2] = schedule[end >>> 2]! | (0x80 << (24 - 8 * (end & 3)));
  schedule[15] = (BLOCK_BYTES + bytes.byteLength) * 8;
}

/** HMAC-SHA256 under one key of at most 64 bytes (longer keys are hashed first by HMAC: not needed here). */
export class HmacSha256 {
  private readonly inner: Int32Array;
  private readonly outer: Int32Array;
  /** The key's bytes when the pads were hashed: a caller's key changed in place must not keep old pads. */
  private readonly key: Uint8Array;

  constructor(key: Uint8Array) {
    assert(key.byteLength <= BLOCK_BYTES, "HMAC key over one block");
    this.key = new Uint8Array(key);
    this.inner = padState(key, 0x36);
    this.outer = padState(key, 0x5c);
  }

  /** True when `key` holds the bytes this MAC was made with. */
  hasKey(key: Uint8Array): boolean {
    if (key.byteLength !== this.key.byteLength) return false;
    let diff = 0;
    for (let i = 0; i < key.byteLength; i++) diff |= key[i]! ^ this.key[i]!;
    return diff === 0;
  }

  /** The 32-byte MAC of a message of at most HMAC_MESSAGE_MAX_BYTES, in a buffer of its own. */
  digest(message: Uint8Array): Buffer {
    assert(message.byteLength <= HMAC_MESSAGE_MAX_BYTES, "HMAC message over one block");
    loadFinalBlock(message);
    compress(this.inner, middle);
    for (let i = 0; i < 8; i++) schedule[i] = middle[i]!;
    schedule.fill(0, 8, 16);
    schedule[8] = 0x80000000;
    schedule[15] = (BLOCK_BYTES + 32) * 8;
    compress(this.outer, middle);
    // Unpooled: the key must not share an ArrayBuffer that some caller might transfer or write whole.
    const out = Buffer.allocUnsafeSlow(32);
    for (let i = 0; i < 8; i++) out.writeInt32BE(middle[i]!, 4 * i);
    return out;
  }
}
