// Goal: salts drawn from the pooled CSPRNG never repeat and never leak a wiped (zero) pool slot,
// also across refills. Method: draw far more salts than one pool holds and compare them all.
import assert from "node:assert/strict";
import { test } from "node:test";
import { systemRandom } from "./random.ts";

test("pooled salts are distinct across many pool refills and are the caller's own bytes", () => {
  // 16-byte salts: 256 of them use up a 4 KiB pool, so 2000 cross several refills.
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const salt = systemRandom.bytes(16);
    assert.equal(salt.byteLength, 16);
    assert.equal(salt.buffer.byteLength, 16, "a copy, not a view of the pool");
    const hex = Buffer.from(salt).toString("hex");
    assert.notEqual(hex, "0".repeat(32), "a wiped pool byte was handed out");
    seen.add(hex);
  }
  assert.equal(seen.size, 2000);
});

test("odd and large sizes are served whole and differ between calls", () => {
  for (const size of [0, 1, 6, 12, 17, 32, 5000]) {
    const a = systemRandom.bytes(size);
    const b = systemRandom.bytes(size);
    assert.equal(a.byteLength, size);
    if (size >= 6) assert.notDeepEqual(a, b);
  }
});
