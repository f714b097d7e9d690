// Goal: a listing survives packing for the worker → main trip unchanged: raw names, every stat field at
// full precision (inodes and devices above 2^63, negative times), and per-entry lstat errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SourceStat } from "../core/ports.ts";
import { type Listing, packListing, transferables, unpackListing } from "./listing-codec.ts";

const file: SourceStat = {
  type: "file",
  mode: 0o4755,
  uid: 1000,
  gid: 4_000_000_000,
  sizeBytes: 2 ** 52 + 1,
  mtimeNs: 1_700_000_000_123_456_789n,
  ctimeNs: -1_000_000_001n,
  inode: 2n ** 64n - 2n,
  device: 2n ** 63n + 5n,
  rdev: 0n,
  nlink: 3,
  blocks: 8,
};
const device: SourceStat = { ...file, type: "chardev", mode: 0o600, sizeBytes: 0, inode: 42n, device: 1n, rdev: 0x1_0000_0003n, nlink: 1, blocks: 0 };

test("a packed listing unpacks to the same names and stats, errors included", () => {
  const listing: Listing = {
    names: [Buffer.from([0x61, 0xff]), Buffer.from("b"), Buffer.from("gone"), Buffer.from("z".repeat(255))],
    stats: [file, device, { code: "ENOENT", message: "lstat: no such file" }, { ...file, type: "dir", sizeBytes: 4096 }],
  };
  const packed = packListing(listing);
  // Everything but the (rare) error list travels as transferred buffers.
  assert.equal(transferables(packed).length, 4);
  const back = unpackListing(structuredClone(packed));
  assert.deepEqual(back.names.map((n) => Buffer.from(n)), listing.names);
  assert.deepEqual(back.stats, listing.stats);
});

test("an empty directory packs to empty arrays", () => {
  const back = unpackListing(packListing({ names: [], stats: [] }));
  assert.deepEqual(back, { names: [], stats: [] });
});
