// Goal: the chunker loses no bytes, respects its size bounds, is deterministic per key, keeps most
// boundaries after a small edit, and streams exactly like whole-buffer chunking.
// Method: fast-check properties over lengths and contents (seed from SUEDE_FC_SEED, always logged), plus
// fixed scenarios on seeded pseudo-random data (AES-CTR keystream, never Math.random) with statistical bounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, createHash, randomInt } from "node:crypto";
import fc from "fast-check";
import { Chunker, chunkAll, gearTableFromKey } from "./cdc.ts";
import { CHUNKER_PARAMS_DEFAULT, type ChunkerParams } from "./params.ts";

const envSeed = process.env["SUEDE_FC_SEED"];
const FC_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FC_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);
const SEED_NOTE = `fast-check seed ${FC_SEED} (rerun with SUEDE_FC_SEED=${FC_SEED})`;

const P = CHUNKER_PARAMS_DEFAULT;
const MIN = P.minSizeBytes;
const AVG = P.avgSizeBytes;
const MAX = P.maxSizeBytes;
const KIB = 1024;
const MIB = 1024 * 1024;

/** Deterministic bytes for a seed: the AES-128-CTR keystream under a key holding the seed. */
function pseudoRandomBytes(seed: number, length: number): Uint8Array {
  const key = new Uint8Array(16);
  new DataView(key.buffer).setUint32(0, seed >>> 0, true);
  const cipher = createCipheriv("aes-128-ctr", key, new Uint8Array(16));
  return new Uint8Array(Buffer.concat([cipher.update(new Uint8Array(length)), cipher.final()]));
}

function keyFromSeed(seed: number): Uint8Array {
  return pseudoRandomBytes(0x6b657900 + seed, 32);
}

function chunkerFor(seed: number, params: ChunkerParams = P): Chunker {
  return new Chunker(params, gearTableFromKey(keyFromSeed(seed)));
}

function lengthsOf(chunker: Chunker, data: Uint8Array): number[] {
  return Array.from(chunkAll(chunker, data), ([, length]) => length);
}

/** Cut offsets (chunk ends) from chunk lengths. */
function cutOffsets(lengths: readonly number[]): number[] {
  let at = 0;
  return lengths.map((length) => (at += length));
}

function checkCovering(chunker: Chunker, params: ChunkerParams, data: Uint8Array): void {
  const chunks = [...chunkAll(chunker, data)];
  let next = 0;
  for (const [index, [start, length]] of chunks.entries()) {
    assert.equal(start, next, "chunks must be contiguous");
    const lower = index === chunks.length - 1 ? 1 : params.minSizeBytes;
    assert.ok(length >= lower && length <= params.maxSizeBytes, `chunk ${index} length ${length} out of [${lower}, ${params.maxSizeBytes}]`);
    next += length;
  }
  assert.equal(next, data.length, "chunks must cover the input exactly");
  // The views concatenate back to the input, byte for byte.
  assert.ok(Buffer.concat(chunks.map(([start, length]) => data.subarray(start, start + length))).equals(data));
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

test("chunkAll: chunks of any input concatenate to it, sizes in [min, max], last in [1, max]", (t) => {
  t.diagnostic(SEED_NOTE);
  const edges = [0, 1, MIN - 1, MIN, MIN + 1, AVG - 1, AVG, AVG + 1, MAX - 1, MAX, MAX + 1];
  const lengths = fc.oneof(
    fc.integer({ min: 0, max: 600 * KIB }),
    fc.constantFrom(...edges, 2 * MAX - 1, 2 * MAX, 2 * MAX + 1, MIN + MAX - 1, MIN + MAX, MIN + MAX + 1),
  );
  const contents = fc.oneof(
    fc.record({ kind: fc.constant("random" as const), seed: fc.integer() }),
    fc.record({ kind: fc.constant("zeros" as const) }),
    fc.record({ kind: fc.constant("periodic" as const), seed: fc.integer(), period: fc.integer({ min: 1, max: 200 }) }),
  );
  fc.assert(
    fc.property(lengths, contents, fc.integer(), (length, content, keySeed) => {
      let data: Uint8Array;
      if (content.kind === "random") data = pseudoRandomBytes(content.seed, length);
      else if (content.kind === "zeros") data = new Uint8Array(length);
      else {
        const pattern = pseudoRandomBytes(content.seed, content.period);
        data = new Uint8Array(length);
        for (let i = 0; i < length; i++) data[i] = pattern[i % content.period]!;
      }
      checkCovering(chunkerFor(keySeed), P, data);
    }),
    { seed: FC_SEED, numRuns: 150 },
  );
});

test("chunkAll: arbitrary bytes with small params cover the input within bounds", (t) => {
  t.diagnostic(SEED_NOTE);
  // Small sizes give many cuts per input, so fast-check's own byte arrays reach every boundary case.
  const small: ChunkerParams = { minSizeBytes: 64, avgSizeBytes: 256, maxSizeBytes: 1024 };
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 8 * KIB, size: "max" }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      (data, key) => checkCovering(new Chunker(small, gearTableFromKey(key)), small, data),
    ),
    { seed: FC_SEED, numRuns: 300 },
  );
});

test("gearTableFromKey: same key gives same cuts, different keys give different cuts", () => {
  const data = pseudoRandomBytes(1, 4 * MIB);
  const first = lengthsOf(chunkerFor(7), data);
  assert.deepEqual(lengthsOf(chunkerFor(7), data), first);
  assert.deepEqual(lengthsOf(new Chunker(P, gearTableFromKey(keyFromSeed(7))), data), first);
  const other = lengthsOf(chunkerFor(8), data);
  assert.notDeepEqual(other, first);
  // Independent keys should share almost no cut positions, not just differ somewhere.
  const firstCuts = new Set(cutOffsets(first).slice(0, -1));
  const shared = cutOffsets(other).filter((cut) => firstCuts.has(cut)).length;
  assert.ok(shared < firstCuts.size / 4, `${shared} of ${firstCuts.size} cuts shared between keys`);
});

// Goal: the file workers cut bytes in shared memory (SharedArrayBuffer read buffers), copied into
// the scanner at the alignment they have there; the cuts must not depend on where the bytes sit.
// Method: the same 4 MiB at each offset 0-8 of a SharedArrayBuffer and of a private buffer.
test("Chunker: cuts of bytes in shared memory at any alignment equal the cuts of the same bytes in a private buffer", () => {
  const data = pseudoRandomBytes(3, 4 * MIB);
  const expected = lengthsOf(chunkerFor(5), data);
  for (let offset = 0; offset <= 8; offset++) {
    const shared = new Uint8Array(new SharedArrayBuffer(offset + data.byteLength), offset);
    shared.set(data);
    assert.deepEqual(lengthsOf(chunkerFor(5), shared), expected, `shared, offset ${offset}`);
    const own = new Uint8Array(offset + data.byteLength).subarray(offset);
    own.set(data);
    assert.deepEqual(lengthsOf(chunkerFor(5), own), expected, `private, offset ${offset}`);
  }
});

test("gearTableFromKey: matches the AES-256-CTR keystream (cuts stay stable across releases)", () => {
  // FIPS-197 style known answer: AES-256 of the zero block under the zero key is dc95c078a2408989...
  const gear = gearTableFromKey(new Uint8Array(32));
  assert.equal(gear.length, 256);
  assert.equal(gear[0], 0x78c095dc);
  assert.equal(gear[1], 0x898940a2);
  assert.throws(() => gearTableFromKey(new Uint8Array(16)), /32 bytes/);
});

test("Chunker: constructor rejects params outside min < avg < max, avg power of two, max <= 8 MiB", () => {
  const gear = gearTableFromKey(keyFromSeed(0));
  const bad: ChunkerParams[] = [
    { minSizeBytes: 64 * KIB, avgSizeBytes: 64 * KIB, maxSizeBytes: 256 * KIB },
    { minSizeBytes: 16 * KIB, avgSizeBytes: 256 * KIB, maxSizeBytes: 256 * KIB },
    { minSizeBytes: 16 * KIB, avgSizeBytes: 48 * KIB, maxSizeBytes: 256 * KIB },
    { minSizeBytes: 16 * KIB, avgSizeBytes: 64 * KIB, maxSizeBytes: 8 * MIB + 1 },
    { minSizeBytes: 0, avgSizeBytes: 64 * KIB, maxSizeBytes: 256 * KIB },
  ];
  for (const params of bad) assert.throws(() => new Chunker(params, gear), { name: "AssertionError" });
  assert.throws(() => new Chunker(P, new Uint32Array(255)), { name: "AssertionError" });
  assert.doesNotThrow(() => new Chunker({ minSizeBytes: 1, avgSizeBytes: 8, maxSizeBytes: 8 * MIB }, gear));
});

test("Chunker.nextCut: empty and short ranges give 0 or the remainder at eof, -1 before", () => {
  const chunker = chunkerFor(3);
  const data = pseudoRandomBytes(3, 3 * MAX);
  assert.equal(chunker.nextCut(data, 10, 10, true), 0);
  assert.equal(chunker.nextCut(data, 10, 10, false), -1);
  assert.equal(chunker.nextCut(data, 10, 10 + MIN - 1, true), MIN - 1);
  assert.equal(chunker.nextCut(data, 10, 10 + MIN - 1, false), -1);
  assert.equal(chunker.nextCut(data, 10, 10 + MIN, false), -1);
  const cut = chunker.nextCut(data, 0, data.length, false);
  assert.ok(cut > MIN && cut <= MAX);
  assert.equal(chunker.nextCut(data, 0, MAX, false), cut, "a cut must not depend on data after it");
  assert.equal(chunker.nextCut(data, 0, cut - 1, false), -1);
  assert.throws(() => chunker.nextCut(data, 5, 4, true), { name: "AssertionError" });
  assert.throws(() => chunker.nextCut(data, 0, data.length + 1, true), { name: "AssertionError" });
});

test("chunkAll: inserting 1 byte at 100 000 in 8 MiB keeps >= 90% of chunks unchanged", () => {
  const original = pseudoRandomBytes(42, 8 * MIB);
  const modified = new Uint8Array(original.length + 1);
  modified.set(original.subarray(0, 100_000), 0);
  modified[100_000] = 0x5a;
  modified.set(original.subarray(100_000), 100_001);
  const chunker = chunkerFor(42);
  const hashesOf = (data: Uint8Array): string[] =>
    Array.from(chunkAll(chunker, data), ([start, length]) => sha256Hex(data.subarray(start, start + length)));
  const before = hashesOf(original);
  const after = new Set(hashesOf(modified));
  const kept = before.filter((hash) => after.has(hash)).length;
  assert.ok(kept >= 0.9 * before.length, `only ${kept} of ${before.length} chunks survived the insertion`);
});

test("Chunker.nextCut: streaming in blocks >= 2*max with a carried tail matches chunkAll", (t) => {
  t.diagnostic(SEED_NOTE);
  // Random, then a zero run (forced max-size cuts), then random again.
  const data = new Uint8Array(6 * MIB);
  data.set(pseudoRandomBytes(5, 3 * MIB), 0);
  data.set(pseudoRandomBytes(6, 2 * MIB), 4 * MIB);
  const chunker = chunkerFor(5);
  const expected = lengthsOf(chunker, data);

  function streamed(blockSizes: readonly number[]): number[] {
    const lengths: number[] = [];
    let tail = new Uint8Array(0);
    let fed = 0;
    for (let k = 0; ; k++) {
      const block = data.subarray(fed, fed + blockSizes[k % blockSizes.length]!);
      fed += block.length;
      const eof = fed === data.length;
      const buffer = new Uint8Array(tail.length + block.length);
      buffer.set(tail, 0);
      buffer.set(block, tail.length);
      let pos = 0;
      for (;;) {
        const length = chunker.nextCut(buffer, pos, buffer.length, eof);
        if (length === -1) {
          assert.ok(!eof && buffer.length - pos < MAX, "-1 only when less than max is buffered and more may come");
          break;
        }
        if (length === 0) {
          assert.ok(eof && pos === buffer.length);
          break;
        }
        lengths.push(length);
        pos += length;
      }
      tail = buffer.slice(pos);
      if (eof) return lengths;
    }
  }

  fc.assert(
    fc.property(fc.array(fc.integer({ min: 2 * MAX, max: 6 * MAX }), { minLength: 1, maxLength: 30 }), (blockSizes) => {
      assert.deepEqual(streamed(blockSizes), expected);
    }),
    { seed: FC_SEED, numRuns: 25 },
  );
});

test("chunkAll: mean chunk size on 32 MiB random data is within [0.6, 1.6] * avg", () => {
  const data = pseudoRandomBytes(9, 32 * MIB);
  const lengths = lengthsOf(chunkerFor(9), data);
  const mean = data.length / lengths.length;
  assert.ok(mean >= 0.6 * AVG && mean <= 1.6 * AVG, `mean chunk size ${mean} vs avg ${AVG}`);
});

test("chunkAll: all-zero input gives max-size chunks except the last", () => {
  const length = 3 * MAX + 12_345;
  const lengths = lengthsOf(chunkerFor(11), new Uint8Array(length));
  assert.deepEqual(lengths, [MAX, MAX, MAX, 12_345]);
});

/** FastCDC as defined (one byte per step), the way every vault so far was cut: nextCut must match it. */
function referenceCut(gear: Uint32Array, params: ChunkerParams, data: Uint8Array, start: number, end: number, eof: boolean): number {
  const available = end - start;
  if (available <= params.minSizeBytes) return eof ? available : -1;
  const limit = Math.min(available, params.maxSizeBytes);
  const normal = Math.min(limit, params.avgSizeBytes);
  const bits = Math.log2(params.avgSizeBytes);
  const maskSmall = (-1 << (32 - (bits + 2))) >>> 0;
  const maskLarge = (-1 << (32 - (bits - 2))) >>> 0;
  let hash = 0;
  for (let i = start + params.minSizeBytes; i < start + limit; i++) {
    hash = ((hash << 1) + gear[data[i]!]!) >>> 0;
    if ((hash & (i < start + normal ? maskSmall : maskLarge)) >>> 0 === 0) return i + 1 - start;
  }
  return eof || available >= params.maxSizeBytes ? limit : -1;
}

test("Chunker.nextCut: equals the one-byte-at-a-time definition at any start, end and eof", (t) => {
  t.diagnostic(SEED_NOTE);
  // Default sizes over pseudo-random bytes, every cut of 4 MiB (odd and even offsets alike).
  const gear = gearTableFromKey(keyFromSeed(5));
  const data = pseudoRandomBytes(11, 4 * MIB);
  const chunker = new Chunker(P, gear);
  for (let start = 0; start < data.length; ) {
    const length = chunker.nextCut(data, start, data.length, true);
    assert.equal(length, referenceCut(gear, P, data, start, data.length, true), `cut after ${start}`);
    start += length;
  }
  // Small sizes; the tiny ones leave fewer than 32 bytes between min and avg, where the large-mask
  // stretch's hash starts at min rather than 32 bytes before avg.
  const smalls: ChunkerParams[] = [
    { minSizeBytes: 64, avgSizeBytes: 256, maxSizeBytes: 1024 },
    { minSizeBytes: 4, avgSizeBytes: 16, maxSizeBytes: 64 },
    { minSizeBytes: 20, avgSizeBytes: 32, maxSizeBytes: 100 },
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...smalls),
      fc.uint8Array({ maxLength: 3 * KIB, size: "max" }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.nat(),
      fc.nat(),
      fc.boolean(),
      (small, bytes, key, a, b, eof) => {
        const smallGear = gearTableFromKey(key);
        const from = bytes.length === 0 ? 0 : a % bytes.length;
        const to = from + (bytes.length === from ? 0 : b % (bytes.length - from + 1));
        assert.equal(new Chunker(small, smallGear).nextCut(bytes, from, to, eof), referenceCut(smallGear, small, bytes, from, to, eof));
      },
    ),
    // No shrinking: a 3 KiB counterexample shrinks for minutes; the seed reproduces it.
    { seed: FC_SEED, numRuns: 1000, endOnFailure: true },
  );
});
