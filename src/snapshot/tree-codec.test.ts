// Goal: decodeTreePart gives back exactly the Nodes encodeTreePart was given, whether it reads a part
// in place (plain entries, ASCII owner names) or through the general msgpack decoder (xattrs,
// unreadable notes, non-ASCII names, and encodings encodeTreePart never writes but the format's
// msgpack allows), and refuses damaged fields with the general decoder's words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import type { Node } from "../core/types.ts";
import { Prng } from "../../test/helpers/prng.ts";
import { randomNode } from "../../test/helpers/random-node.ts";
import { decodeTreePart, encodeTreePart } from "./tree-codec.ts";

/** A Node as plain comparable values (bytes as hex, bigints as text), fields in a fixed order. */
function plain(node: Node): unknown {
  const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
  return {
    name: hex(node.name),
    type: node.type,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    user: node.user,
    group: node.group,
    mtimeNs: String(node.mtimeNs),
    ctimeNs: String(node.ctimeNs),
    inode: String(node.inode),
    device: String(node.device),
    nlink: node.nlink,
    sizeBytes: node.sizeBytes,
    chunks: node.chunks?.map((chunk) => [hex(chunk.id), chunk.sizeBytes]),
    sparse: node.sparse,
    subtree: node.subtree?.map(hex),
    linkTarget: node.linkTarget === undefined ? undefined : hex(node.linkTarget),
    rdev: node.rdev === undefined ? undefined : String(node.rdev),
    xattrs: node.xattrs?.map(([key, value]) => [hex(key), hex(value)]),
    unreadable: node.unreadable,
  };
}


test("decodeTreePart gives back the encoded Nodes, plain parts and parts with xattrs or non-ASCII owners alike", () => {
  const prng = new Prng(21);
  for (let round = 0; round < 60; round++) {
    const plainOnly = round % 2 === 0;
    const nodes = Array.from({ length: prng.below(round < 2 ? 1 : 200) }, (_, i) => randomNode(prng, i, plainOnly));
    const decoded = decodeTreePart(encodeTreePart(nodes));
    assert.deepEqual(decoded.map(plain), nodes.map(plain), `round ${round}`);
    // Both decoders make Nodes with the same keys in the same order (one object shape).
    for (const [i, node] of decoded.entries()) assert.deepEqual(Object.keys(node), Object.keys(nodes[i]!));
  }
});

/** A tree part written by hand: [1, entries], each entry [name, type, …, options]. */
function part(entries: unknown[][]): Uint8Array {
  return encode([1, entries]);
}

function entry(name: string, options: unknown, fields: Partial<Record<"mtime" | "mode", unknown>> = {}): unknown[] {
  return [Buffer.from(name), 0, fields.mode ?? 0o644, 0, 0, "root", "root", fields.mtime ?? "1700000000123456789", "5", "7", "9", 1, 3, options];
}

test("encodings encodeTreePart never writes but msgpack allows decode as the general decoder reads them", () => {
  const chunk = Buffer.concat([Buffer.alloc(32, 0xab), Buffer.from([3, 0, 0, 0])]);
  // An options map keyed by the integer 1 instead of the string "1", a mode coded as a signed
  // int16, and leading zeros in a decimal: all read as the general decoder reads them.
  const written = Buffer.from(part([entry("a", { 1: chunk })]));
  const key = written.indexOf(Buffer.from([0x81, 0xa1, 0x31, 0xc4, 0x24]));
  assert.ok(key > 0);
  const numericKey = Buffer.concat([written.subarray(0, key), Buffer.from([0x81, 0x01]), written.subarray(key + 3)]);
  const [a] = decodeTreePart(numericKey);
  assert.equal(a!.chunks?.length, 1);
  assert.equal(a!.chunks![0]!.sizeBytes, 3);
  const wide = Buffer.from(part([entry("b", {}, { mode: 0o644, mtime: "0000000000000000000042" })]));
  const mode = wide.indexOf(Buffer.from([0xcd, 0x01, 0xa4]));
  assert.ok(mode > 0);
  wide[mode] = 0xd1;
  const [b] = decodeTreePart(wide);
  assert.equal(b!.mtimeNs, 42n);
  assert.equal(b!.mode, 0o644);
  // sparse: false is ignored by the general decoder (only true is ever written).
  const [c] = decodeTreePart(part([entry("c", { 2: false })]));
  assert.equal(c!.sparse, undefined);
});

test("damaged fields and names are refused with the general decoder's words", () => {
  assert.throws(() => decodeTreePart(part([entry("a", {}, { mtime: "12a" })])), /bad integer field/);
  assert.throws(() => decodeTreePart(part([entry("a", {}, { mtime: "1".repeat(25) })])), /bad integer field/);
  assert.throws(() => decodeTreePart(part([entry("a", {}, { mtime: "" })])), /bad integer field/);
  assert.throws(() => decodeTreePart(part([entry("a", {}, { mtime: "-" })])), /bad integer field/);
  assert.throws(() => decodeTreePart(part([entry("a", {}, { mode: -1 })])), /bad number field/);
  assert.throws(() => decodeTreePart(part([entry("..", {})])), /tree entry name/);
  assert.throws(() => decodeTreePart(part([entry("b", {}), entry("a", {})])), /out of name order/);
  assert.throws(() => decodeTreePart(part([entry("a", {}), entry("a", {})])), /repeated/);
  assert.throws(() => decodeTreePart(part([entry("a", { 1: Buffer.alloc(35) })])), /chunk list length/);
  assert.throws(() => decodeTreePart(part([entry("a", { 3: [Buffer.alloc(31)] })])), /subtree id/);
  assert.throws(() => decodeTreePart(Buffer.concat([part([entry("a", {})]), Buffer.from([0xc0])])), Error);
  // 24 digits is the most a decimal field may have.
  const [longest] = decodeTreePart(part([entry("a", {}, { mtime: "-" + "9".repeat(24) })]));
  assert.equal(longest!.mtimeNs, -(10n ** 24n - 1n));
});
