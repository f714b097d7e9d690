// Goal: restore creates small files on the main thread while creates are fast and on the pool while they are slow; method: fed timings.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CreatePace } from "./create-pace.ts";

/** How many of the next count creates pace sends to the pool. */
function pooled(pace: CreatePace, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (!pace.synchronous()) n++;
  return n;
}

test("fast creates stay synchronous", () => {
  const pace = new CreatePace();
  for (let i = 0; i < 10_000; i++) {
    assert.equal(pace.synchronous(), true);
    pace.measured(20_000);
  }
});

test("slow creates go to the pool for a spell, and a fast probe brings them back", () => {
  const pace = new CreatePace();
  let synchronousSlow = 0;
  while (pace.synchronous()) {
    pace.measured(300_000);
    synchronousSlow++;
  }
  assert.equal(synchronousSlow, 3, "three slow creates in a row decide");
  assert.equal(pooled(pace, 255), 255);
  assert.equal(pace.synchronous(), true, "a probe after the spell");
  pace.measured(300_000);
  assert.equal(pooled(pace, 256), 256, "still slow: another spell");
  assert.equal(pace.synchronous(), true);
  pace.measured(10_000);
  assert.equal(pooled(pace, 1000), 0, "fast again: synchronous");
});

test("a slow create now and then (the thread lost its core) keeps creates synchronous", () => {
  const pace = new CreatePace();
  for (let i = 0; i < 10_000; i++) {
    assert.equal(pace.synchronous(), true);
    pace.measured(i % 3 === 0 ? 20_000_000 : 10_000);
  }
});
