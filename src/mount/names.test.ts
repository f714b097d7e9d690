import assert from "node:assert/strict";
import { test } from "node:test";
import { WeightedLru } from "./lru.ts";
import { shownName, shownNames } from "./names.ts";

test("valid UTF-8 names are shown unchanged, other bytes as \\xNN", () => {
  assert.equal(shownName(Buffer.from("é back\\slash")), "é back\\slash");
  assert.equal(shownName(Buffer.from([0x66, 0xff, 0xfe])), "f\\xFF\\xFE");
  assert.equal(shownName(Buffer.from([0x64, 0xc3, 0x28, 0x5c])), "d\\xC3(\\\\");
});

test("shown names are unique in a directory; real names keep theirs", () => {
  const names = [Buffer.from("f\\xFF"), Buffer.from([0x66, 0xff]), Buffer.from([0x66, 0xff, 0x5c])];
  assert.deepEqual(shownNames(names), ["f\\xFF", "f\\xFF~", "f\\xFF\\\\"]);
});

test("the LRU drops the least recently used entries beyond its weight", () => {
  const lru = new WeightedLru<string>(10);
  lru.set("a", "A", 4);
  lru.set("b", "B", 4);
  assert.equal(lru.get("a"), "A");
  lru.set("c", "C", 4);
  assert.equal(lru.get("b"), undefined);
  assert.deepEqual([lru.get("a"), lru.get("c"), lru.weight], ["A", "C", 8]);
  lru.set("huge", "H", 50);
  assert.deepEqual([lru.get("a"), lru.get("huge"), lru.weight], [undefined, "H", 50]);
});
