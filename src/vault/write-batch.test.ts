// Goal: the write batch hands the file exactly the queued bytes in queue order, whether a record owns
// its buffer (queued as is) or is a view of a larger one (copied, so the caller's buffer may be reused
// and is not kept alive), across block boundaries. Method: queue mixed records, mutate the sources,
// compare the concatenation of take() with the expected log.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { WriteBatch } from "./write-batch.ts";

test("records come out in order, views copied and runs merged", () => {
  const batch = new WriteBatch();
  const packed = randomBytes(300_000);
  const shared = new Uint8Array(packed.buffer.slice(0));
  const own = new Uint8Array(randomBytes(5000));
  const expected: Buffer[] = [];
  const queue = (record: Uint8Array) => {
    expected.push(Buffer.from(record));
    batch.add(record);
  };
  queue(shared.subarray(0, 1000));
  queue(shared.subarray(5000, 7000));
  queue(own);
  queue(shared.subarray(100, 300));
  assert.equal(batch.bytes, 1000 + 2000 + 5000 + 200);
  shared.fill(0); // the caller's packed buffer is free once added
  const first = batch.take();
  assert.equal(first.length, 3, "two views merged into one run, then the owned record, then a new run");
  assert.ok(Buffer.concat(first).equals(Buffer.concat(expected)));
  assert.equal(first[1], own, "an owned record is queued without a copy");
  assert.equal(batch.bytes, 0);
  // Past a block's worth of views a new block starts; earlier runs (still being written) are untouched.
  expected.length = 0;
  const view = new Uint8Array(packed.buffer, 0, 250_000);
  for (let i = 0; i < 20; i++) queue(view);
  const second = batch.take();
  assert.ok(second.length >= 2);
  assert.ok(Buffer.concat(second).equals(Buffer.concat(expected)));
  assert.ok(Buffer.concat(first).subarray(0, 1000).equals(packed.subarray(0, 1000)), "first batch kept its bytes");
});
