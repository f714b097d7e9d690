// Goal: the write batch hands the file exactly the queued bytes in queue order, whether a record owns
// its buffer (queued as is), is part of a run that is most of its buffer (written from it), or is a
// small part of a larger one (copied, so that buffer is not kept alive), across block boundaries.
// Method: queue mixed records, mutate the sources after take(), compare the concatenation of take()
// with the expected log.
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
  const first = batch.take();
  shared.fill(0); // the packed buffer is free once taken: its small runs were copied
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

test("a run that is most of its buffer is written from it, also when split by take()", () => {
  const batch = new WriteBatch();
  const sealed = new Uint8Array(randomBytes(90_000));
  const records = [sealed.subarray(0, 30_000), sealed.subarray(30_000, 50_000), sealed.subarray(50_000, 90_000)];
  batch.add(records[0]!);
  batch.add(records[1]!);
  const first = batch.take();
  batch.add(records[2]!);
  const second = batch.take();
  assert.equal(first.length, 1);
  assert.equal(first[0]!.buffer, sealed.buffer, "two records, 56% of their buffer: no copy");
  assert.ok(Buffer.from(first[0]!).equals(sealed.subarray(0, 50_000)));
  assert.equal(second[0]!.buffer, sealed.buffer, "the rest of that buffer continues the run: no copy");
  assert.ok(Buffer.from(second[0]!).equals(sealed.subarray(50_000)));
  // A gap (a record not written) ends the run: a small run after it is copied.
  batch.add(sealed.subarray(0, 10_000));
  batch.add(sealed.subarray(20_000, 25_000));
  const third = batch.take();
  assert.equal(third.length, 1, "two small runs copied into one block run");
  assert.notEqual(third[0]!.buffer, sealed.buffer);
  assert.ok(Buffer.from(third[0]!).equals(Buffer.concat([sealed.subarray(0, 10_000), sealed.subarray(20_000, 25_000)])));
});
