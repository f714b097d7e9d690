// Goal: TreePartScanner (the in-place reader backup compares listings with) sees exactly the fields
// decodeTreePart decodes, for every entry type and edge value, and a damaged part throws rather
// than being read as something else.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Node } from "../core/types.ts";
import { Prng } from "../../test/helpers/prng.ts";
import { randomNode } from "../../test/helpers/random-node.ts";
import { decodeTreePart, encodeTreePart, TreePartScanner } from "./tree-codec.ts";


const text = (bytes: Uint8Array, start: number, end: number): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8", start, end);

test("the scanner reads every field decodeTreePart decodes, entry by entry", () => {
  const prng = new Prng(11);
  for (let round = 0; round < 40; round++) {
    const nodes = Array.from({ length: prng.below(round === 0 ? 1 : 300) }, (_, i) => randomNode(prng, i));
    const bytes = encodeTreePart(nodes);
    const decoded = decodeTreePart(bytes);
    const entry = new TreePartScanner(bytes);
    for (const node of decoded) {
      assert.ok(entry.next());
      assert.deepEqual(Buffer.from(bytes.subarray(entry.nameStart, entry.nameEnd)), Buffer.from(node.name));
      assert.deepEqual([entry.type, entry.mode, entry.uid, entry.gid, entry.nlink, entry.sizeBytes], [node.type, node.mode, node.uid, node.gid, node.nlink, node.sizeBytes]);
      assert.equal(text(bytes, entry.userStart, entry.userEnd), node.user);
      assert.equal(text(bytes, entry.groupStart, entry.groupEnd), node.group);
      assert.equal(BigInt(text(bytes, entry.mtimeStart, entry.mtimeEnd)), node.mtimeNs);
      assert.equal(BigInt(text(bytes, entry.ctimeStart, entry.ctimeEnd)), node.ctimeNs);
      assert.equal(BigInt(text(bytes, entry.inodeStart, entry.inodeEnd)), node.inode);
      assert.equal(BigInt(text(bytes, entry.deviceStart, entry.deviceEnd)), node.device);
      assert.equal(entry.hasChunks, node.chunks !== undefined);
      assert.equal(entry.sparse, node.sparse === true);
      assert.equal(entry.hasLinkTarget, node.linkTarget !== undefined);
      assert.equal(entry.subtreeCount >= 0, node.subtree !== undefined);
      assert.deepEqual(entry.subtreeIds().map((id) => Buffer.from(id)), (node.subtree ?? []).map((id) => Buffer.from(id)));
      assert.equal(entry.rdevStart >= 0 ? BigInt(text(bytes, entry.rdevStart, entry.rdevEnd)) : undefined, node.rdev);
      assert.equal(entry.hasXattrs, node.xattrs !== undefined);
      assert.equal(entry.hasUnreadable, node.unreadable !== undefined);
    }
    assert.equal(entry.next(), false);
    assert.equal(entry.remaining, 0);
  }
});

test("a truncated, extended or foreign part throws in the scanner", () => {
  const prng = new Prng(12);
  const bytes = encodeTreePart(Array.from({ length: 20 }, (_, i) => randomNode(prng, i)));
  const scanAll = (part: Uint8Array): number => {
    const entry = new TreePartScanner(part);
    let count = 0;
    while (entry.next()) count++;
    return count;
  };
  assert.equal(scanAll(bytes), 20);
  for (let length = 0; length < bytes.byteLength; length++) assert.throws(() => scanAll(bytes.subarray(0, length)), Error, `cut at ${length}`);
  assert.throws(() => scanAll(Buffer.concat([bytes, Buffer.from([0xc0])])), /bytes after/);
  const otherVersion = Uint8Array.from(bytes);
  otherVersion[1] = 2;
  assert.throws(() => scanAll(otherVersion), /shape/);
  // An entry with a 15th field, and an option the format does not have.
  assert.throws(() => scanAll(Uint8Array.from([0x92, 0x01, 0x91, 0x9f])), /entry shape/);
  const fifo: Node = { name: Buffer.from("p"), type: "fifo", mode: 0o644, uid: 0, gid: 0, user: "", group: "", mtimeNs: 1n, ctimeNs: 1n, inode: 1n, device: 1n, nlink: 1, sizeBytes: 0 };
  const withOption8 = Buffer.from(encodeTreePart([fifo]));
  const mapAt = withOption8.byteLength - 1; // the empty options map of the fifo ends the part
  assert.equal(withOption8[mapAt], 0x80);
  assert.equal(new TreePartScanner(withOption8).next(), true);
  assert.throws(() => scanAll(Buffer.concat([withOption8.subarray(0, mapAt), Buffer.from([0x81, 0xa1, 0x38, 0xc3])])), /option key/);
});
