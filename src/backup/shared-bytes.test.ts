// Goal: copyBytes copies exactly what TypedArray set would, from shared and private memory, at any
// alignment and offset, and leaves the rest of the target alone.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { allShared, blockBytes, copyBytes, movable } from "./shared-bytes.ts";

test("copyBytes: shared and private sources at every alignment land byte-exact at the offset, nothing else written", () => {
  const bytes = randomBytes(70_000);
  for (const shared of [true, false]) {
    const source = blockBytes(bytes.byteLength + 16, shared);
    for (const from of [0, 1, 3, 7, 8, 13]) {
      source.set(bytes.subarray(0, bytes.byteLength - 16), from);
      for (const [length, offset] of [[0, 0], [1, 5], [65_536, 0], [65_537, 3], [40_001, 9]] as const) {
        const target = new Uint8Array(80_000).fill(0xa5);
        const piece = source.subarray(from, from + length);
        copyBytes(target, piece, offset);
        const expected = new Uint8Array(80_000).fill(0xa5);
        expected.set(piece, offset);
        assert.ok(Buffer.from(target).equals(expected), `shared ${shared}, from ${from}, length ${length}, offset ${offset}`);
      }
    }
  }
});

test("blockBytes, allShared, movable: shared memory is never put in a transfer list", () => {
  const shared = blockBytes(64, true);
  const own = blockBytes(64, false);
  assert.ok(shared.buffer instanceof SharedArrayBuffer);
  assert.ok(!(own.buffer instanceof SharedArrayBuffer));
  assert.ok(allShared([shared.subarray(1, 9), shared]));
  assert.ok(!allShared([shared, own]));
  assert.deepEqual(movable([shared.buffer, own.buffer]), [own.buffer]);
});
