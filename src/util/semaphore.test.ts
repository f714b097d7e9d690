// Goal: tryAcquire, the no-wait path the backup takes per small file, keeps the semaphore's bound and its
// order (never ahead of a waiting acquire). Method: fill, release, and race a waiter against a newcomer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Semaphore } from "./semaphore.ts";

test("tryAcquire takes free weight at once and gives null when it would have to wait", () => {
  const semaphore = new Semaphore(3);
  const first = semaphore.tryAcquire(2);
  assert.notEqual(first, null);
  assert.equal(semaphore.tryAcquire(2), null); // 1 left
  const second = semaphore.tryAcquire(1);
  assert.notEqual(second, null);
  assert.equal(semaphore.tryAcquire(1), null);
  first!();
  assert.notEqual(semaphore.tryAcquire(2), null);
  assert.throws(() => first!(), /released twice/);
});

test("tryAcquire does not overtake an acquire that is waiting", async () => {
  const semaphore = new Semaphore(2);
  const held = semaphore.tryAcquire(2)!;
  let woke = false;
  const waiting = semaphore.acquire(2).then((release) => {
    woke = true;
    return release;
  });
  held();
  // The waiter was handed the weight on release: nothing is free for a newcomer.
  assert.equal(semaphore.tryAcquire(1), null);
  const release = await waiting;
  assert.equal(woke, true);
  release();
  assert.notEqual(semaphore.tryAcquire(2), null);
});

test("a weight above capacity is taken as the whole capacity", () => {
  const semaphore = new Semaphore(4);
  const release = semaphore.tryAcquire(10);
  assert.notEqual(release, null);
  assert.equal(semaphore.tryAcquire(1), null);
  release!();
  assert.notEqual(semaphore.tryAcquire(4), null);
});

test("isFree says what tryAcquire would do, and takes nothing", async () => {
  const semaphore = new Semaphore(4);
  const held = semaphore.tryAcquire(3)!;
  assert.equal(semaphore.isFree(1), true);
  assert.equal(semaphore.isFree(2), false);
  assert.equal(semaphore.isFree(1), true); // asking took nothing
  const waiting = semaphore.acquire(2);
  // One free, but a waiter is first in line: a newcomer's weight is not free.
  assert.equal(semaphore.isFree(1), false);
  held();
  (await waiting)();
  assert.equal(semaphore.isFree(10), true); // above capacity: the whole capacity, free when idle
});
