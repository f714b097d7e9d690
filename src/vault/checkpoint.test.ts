// Goal: checkpoints and superblock pointers round-trip and any malformed body is a problem string, never a throw. Method: fast-check properties (seed from SUEDE_FC_SEED, always logged) over field values, msgpack-level corruptions and random bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { encode } from "@msgpack/msgpack";
import fc from "fast-check";
import { type Checkpoint, decodeCheckpoint, decodeSuperblock, encodeCheckpoint, encodeSuperblock } from "./checkpoint.ts";
import { SUPERBLOCK_BODY_SIZE_BYTES } from "./format.ts";

const envSeed = process.env["SUEDE_FC_SEED"];
const FC_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FC_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);
const SEED_NOTE = `fast-check seed ${FC_SEED} (rerun with SUEDE_FC_SEED=${FC_SEED})`;

const count = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());
const checkpointArb: fc.Arbitrary<Checkpoint> = fc.record({
  sequence: count,
  previousOffset: count,
  selfOffset: count,
  timeMs: count,
  nextSnapshotNumber: count,
  snapshots: fc.array(fc.record({ number: count, id: fc.uint8Array({ minLength: 32, maxLength: 32 }) }), { maxLength: 50 }),
  indexRecords: fc.array(fc.record({ offset: count, length: count }), { maxLength: 70 }),
});

/** deepEqual without prototype noise (fast-check records have a null prototype). */
const plain = (checkpoint: Checkpoint) => JSON.parse(JSON.stringify(checkpoint, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v))) as unknown;

test("encodeCheckpoint/decodeCheckpoint: round trip", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(checkpointArb, (checkpoint) => {
      const decoded = decodeCheckpoint(encodeCheckpoint(checkpoint));
      assert.ok(typeof decoded !== "string", String(decoded));
      assert.deepEqual(plain(decoded), plain(checkpoint));
    }),
    { seed: FC_SEED, numRuns: 300 },
  );
});

test("decodeCheckpoint: wrong shapes, versions and field types are problem strings", () => {
  const id = new Uint8Array(32);
  const good = [1, 2, 0, 16384, 5, 3, [[1, id]], [[16384, 128]]];
  assert.equal(typeof decodeCheckpoint(encode(good)), "object");
  const variants: [unknown, RegExp][] = [
    [{ a: 1 }, /shape/],
    [good.slice(0, 7), /shape/],
    [[2, ...good.slice(1)], /version 2/],
    [[1, -1, ...good.slice(2)], /out of range/],
    [[1, 1.5, ...good.slice(2)], /out of range/],
    [[1, "2", ...good.slice(2)], /out of range/],
    [[...good.slice(0, 6), "x", good[7]], /lists missing/],
    [[...good.slice(0, 6), [[1, new Uint8Array(31)]], good[7]], /snapshot entry/],
    [[...good.slice(0, 6), [[-1, id]], good[7]], /snapshot entry/],
    [[...good.slice(0, 6), [7], good[7]], /snapshot entry/],
    [[...good.slice(0, 7), [[16384]]], /index entry/],
    [[...good.slice(0, 7), [[16384, -5]]], /index entry/],
  ];
  for (const [value, problem] of variants) assert.match(String(decodeCheckpoint(encode(value))), problem, JSON.stringify(value));
  assert.match(String(decodeCheckpoint(new Uint8Array(0))), /msgpack/);
  assert.match(String(decodeCheckpoint(Uint8Array.from([0xc1]))), /msgpack/);
});

test("decodeCheckpoint: arbitrary bytes give a checkpoint or a problem string, never a throw", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const result = decodeCheckpoint(bytes);
      assert.ok(typeof result === "string" || typeof result === "object");
    }),
    { seed: FC_SEED, numRuns: 2000 },
  );
  // Truncations of a real checkpoint as well.
  const body = encodeCheckpoint({ sequence: 9, previousOffset: 16384, selfOffset: 20000, timeMs: 1, nextSnapshotNumber: 4, snapshots: [{ number: 3, id: new Uint8Array(32) }], indexRecords: [{ offset: 17000, length: 200 }] });
  for (let cut = 0; cut < body.byteLength; cut++) assert.equal(typeof decodeCheckpoint(body.subarray(0, cut)), "string", `cut at ${cut}`);
});

test("encodeSuperblock/decodeSuperblock: round trip; wrong size, reserved bits and u64 beyond 2^53 are problems", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(count, count, count, (sequence, checkpointOffset, checkpointLength) => {
      const body = encodeSuperblock({ sequence, checkpointOffset, checkpointLength });
      assert.equal(body.byteLength, SUPERBLOCK_BODY_SIZE_BYTES);
      assert.deepEqual(decodeSuperblock(body), { sequence, checkpointOffset, checkpointLength });
    }),
    { seed: FC_SEED, numRuns: 300 },
  );
  const body = encodeSuperblock({ sequence: 3, checkpointOffset: 16384, checkpointLength: 200 });
  assert.match(String(decodeSuperblock(body.subarray(0, 31))), /wrong size/);
  const reserved = Uint8Array.from(body);
  reserved[24] = 1;
  assert.match(String(decodeSuperblock(reserved)), /reserved/);
  const huge = Uint8Array.from(body);
  new DataView(huge.buffer).setBigUint64(0, 1n << 60n, true);
  assert.match(String(decodeSuperblock(huge)), /out of range/);
});
