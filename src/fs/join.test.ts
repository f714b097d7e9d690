// Goal: joinPath joins raw bytes with exactly one "/" and isSafeName rejects every name that leaves its directory; method: fixed cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AssertionError } from "../util/assert.ts";
import { isSafeName, joinPath } from "./join.ts";

test("joinPath adds one slash and keeps raw bytes", () => {
  assert.deepEqual(joinPath(Buffer.from("/a/b"), Buffer.from("c")), Buffer.from("/a/b/c"));
  assert.deepEqual(joinPath(Buffer.from("/a/b/"), Buffer.from("c")), Buffer.from("/a/b/c"));
  assert.deepEqual(joinPath(Buffer.from("/"), Buffer.from("etc")), Buffer.from("/etc"));
  assert.deepEqual(
    joinPath(Buffer.from([0x2f, 0xfe]), new Uint8Array([0x61, 0xff])),
    Buffer.from([0x2f, 0xfe, 0x2f, 0x61, 0xff]),
  );
  assert.throws(() => joinPath(Buffer.alloc(0), Buffer.from("x")), AssertionError);
});

test("joinPath does not share memory with its inputs", () => {
  const parent = Buffer.from("/p");
  const joined = joinPath(parent, Buffer.from("n"));
  joined[1] = 0x71;
  assert.deepEqual(parent, Buffer.from("/p"));
});

test("isSafeName", () => {
  for (const safe of ["a", "...", ".hidden", "a b", "..a", "a..", "\\", "日本"]) {
    assert.equal(isSafeName(Buffer.from(safe)), true, safe);
  }
  assert.equal(isSafeName(new Uint8Array([0x61, 0xff, 0xfe])), true);
  for (const unsafe of ["", ".", "..", "/", "a/b", "/etc", "../x", "x/..", "a\0b", "\0"]) {
    assert.equal(isSafeName(Buffer.from(unsafe)), false, JSON.stringify(unsafe));
  }
});
