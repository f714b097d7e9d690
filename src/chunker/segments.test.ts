// Goal: cutting a file in segments on two threads (segments.ts) gives EXACTLY the sequential chunker's
// cut points, whatever the segment size and content; repetitive data and zero runs, where speculative
// cuts stay off the true ones for long, are what stresses the re-sync.
// Method: fast-check over contents built from random, zero-run, periodic and repeated parts, with random
// segment sizes and a random choice per segment of who cuts it: the true chain itself (as the owning
// worker does) or a helper's speculative cut joined from the true position (as file-worker.ts does).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, randomInt } from "node:crypto";
import fc from "fast-check";
import { Chunker, chunkAll, gearTableFromKey } from "./cdc.ts";
import { CHUNKER_PARAMS_DEFAULT, type ChunkerParams } from "./params.ts";
import { joinSegment, segmentLengths } from "./segments.ts";

const envSeed = process.env["SUEDE_FC_SEED"];
const FC_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FC_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);
const SEED_NOTE = `fast-check seed ${FC_SEED} (rerun with SUEDE_FC_SEED=${FC_SEED})`;

function pseudoRandomBytes(seed: number, length: number): Uint8Array {
  const key = new Uint8Array(16);
  new DataView(key.buffer).setUint32(0, seed >>> 0, true);
  const cipher = createCipheriv("aes-128-ctr", key, new Uint8Array(16));
  return new Uint8Array(Buffer.concat([cipher.update(new Uint8Array(length)), cipher.final()]));
}

function chunkerFor(seed: number, params: ChunkerParams): Chunker {
  return new Chunker(params, gearTableFromKey(pseudoRandomBytes(0x6b657900 + seed, 32)));
}

type Part = { kind: "random"; seed: number; length: number } | { kind: "zeros"; length: number } | { kind: "periodic"; seed: number; period: number; length: number } | { kind: "repeat"; length: number };

function build(parts: readonly Part[]): Uint8Array {
  const out: Uint8Array[] = [];
  for (const part of parts) {
    if (part.kind === "random") out.push(pseudoRandomBytes(part.seed, part.length));
    else if (part.kind === "zeros") out.push(new Uint8Array(part.length));
    else if (part.kind === "periodic") {
      const pattern = pseudoRandomBytes(part.seed, part.period);
      const bytes = new Uint8Array(part.length);
      for (let i = 0; i < part.length; i++) bytes[i] = pattern[i % part.period]!;
      out.push(bytes);
    } else {
      // A copy of earlier bytes: the same content again at another offset (a file holding a file twice).
      out.push(Buffer.concat(out).subarray(0, part.length));
    }
  }
  return new Uint8Array(Buffer.concat(out));
}

function parts(maxPart: number): fc.Arbitrary<Part[]> {
  const length = fc.integer({ min: 0, max: maxPart });
  return fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant("random" as const), seed: fc.integer(), length }),
      fc.record({ kind: fc.constant("zeros" as const), length }),
      fc.record({ kind: fc.constant("periodic" as const), seed: fc.integer(), period: fc.integer({ min: 1, max: 300 }), length }),
      fc.record({ kind: fc.constant("repeat" as const), length }),
    ),
    { minLength: 1, maxLength: 8 },
  );
}

/**
 * Chunk lengths of data cut segment by segment: segment k from k * segmentBytes is cut by the true
 * chain itself when helped[k] is false, else speculatively on its own window and joined.
 */
function segmentedLengths(chunker: Chunker, max: number, data: Uint8Array, segmentBytes: number, helped: readonly boolean[]): number[] {
  const lengths: number[] = [];
  let position = 0;
  for (let k = 0; position < data.length; k++) {
    const segmentStart = k * segmentBytes;
    const segmentEnd = segmentStart + segmentBytes;
    if (helped[k % helped.length] === true) {
      // Exactly the bytes a helper reads: the segment plus max, or to the end of the file.
      const window = data.slice(segmentStart, Math.min(data.length, segmentEnd + max));
      const eof = segmentEnd + max >= data.length;
      const speculative = Uint32Array.from(segmentLengths(chunker, window, segmentBytes, eof));
      const { chunks, end } = joinSegment(chunker, window, segmentBytes, eof, speculative, position - segmentStart);
      for (const chunk of chunks) {
        assert.equal(segmentStart + chunk.start, position);
        if (chunk.spec >= 0) assert.equal(chunk.length, speculative[chunk.spec]);
        lengths.push(chunk.length);
        position += chunk.length;
      }
      assert.equal(segmentStart + end, position);
    } else {
      while (position < segmentEnd && position < data.length) {
        const length = chunker.nextCut(data, position, data.length, true);
        lengths.push(length);
        position += length;
      }
    }
  }
  return lengths;
}

const SMALL: ChunkerParams = { minSizeBytes: 64, avgSizeBytes: 256, maxSizeBytes: 1024 };

test("segments: speculative segments joined to the true chain give the sequential chunker's cuts exactly (small params)", (t) => {
  t.diagnostic(SEED_NOTE);
  const max = SMALL.maxSizeBytes;
  fc.assert(
    fc.property(
      parts(6 * max),
      fc.oneof(fc.integer({ min: 1, max: 5 * max }), fc.constantFrom(1, SMALL.minSizeBytes, max - 1, max, max + 1, 2 * max)),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
      fc.integer(),
      (content, segmentBytes, helped, keySeed) => {
        const data = build(content);
        const chunker = chunkerFor(keySeed, SMALL);
        const sequential = Array.from(chunkAll(chunker, data), ([, length]) => length);
        assert.deepEqual(segmentedLengths(chunker, max, data, segmentBytes, helped), sequential);
      },
    ),
    { seed: FC_SEED, numRuns: 400 },
  );
});

test("segments: default params, MiB-sized files with zero runs and repeats, segments from 256 KiB to 3 MiB", (t) => {
  t.diagnostic(SEED_NOTE);
  const max = CHUNKER_PARAMS_DEFAULT.maxSizeBytes;
  fc.assert(
    fc.property(
      parts(1536 * 1024),
      fc.integer({ min: 256 * 1024, max: 3 * 1024 * 1024 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
      fc.integer(),
      (content, segmentBytes, helped, keySeed) => {
        const data = build(content);
        const chunker = chunkerFor(keySeed, CHUNKER_PARAMS_DEFAULT);
        const sequential = Array.from(chunkAll(chunker, data), ([, length]) => length);
        assert.deepEqual(segmentedLengths(chunker, max, data, segmentBytes, helped), sequential);
      },
    ),
    { seed: FC_SEED, numRuns: 25 },
  );
});

test("segments: a zero run entered off the speculative grid is cut twice, then re-synced at the content after it", () => {
  const max = CHUNKER_PARAMS_DEFAULT.maxSizeBytes;
  const data = build([
    { kind: "random", seed: 1, length: 700 * 1024 },
    { kind: "zeros", length: 3 * 1024 * 1024 },
    { kind: "random", seed: 2, length: 2 * 1024 * 1024 },
  ]);
  const chunker = chunkerFor(7, CHUNKER_PARAMS_DEFAULT);
  const segmentBytes = 1024 * 1024 + 12345; // the run covers the second segment, its grid off the true one
  const sequential = Array.from(chunkAll(chunker, data), ([, length]) => length);
  assert.deepEqual(segmentedLengths(chunker, max, data, segmentBytes, [false, true]), sequential);
  assert.deepEqual(segmentedLengths(chunker, max, data, segmentBytes, [true]), sequential);
});
