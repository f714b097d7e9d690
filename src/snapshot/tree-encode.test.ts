// Goal: the tree entry writer (tree-codec.ts EntryWriter) writes the bytes @msgpack/msgpack's
// encode() wrote for the same entries, to the byte: a tree's ID is a keyed hash of its bytes, so a
// difference would break dedup against every earlier snapshot's trees (FORMAT.md §11). Method: the
// encoder as it was (encodeNode below, through encode()) is the reference; a fast-check property
// (seed from SUEDE_FC_SEED, always logged) over random parts of every type and each field's edge
// values (msgpack's integer, string and binary size classes), and a part past 16 and 256 entries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { encode } from "@msgpack/msgpack";
import fc from "fast-check";
import type { ChunkRef, Node, NodeType } from "../core/types.ts";
import { ByteWriter } from "../util/bytes.ts";
import { decodeTreePart, encodeTreePart, encodeTreePartFrom } from "./tree-codec.ts";
import { nodeFromSpec } from "../../test/helpers/node-spec.ts";

const envSeed = process.env["SUEDE_FC_SEED"];
const FC_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FC_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);
const SEED_NOTE = `fast-check seed ${FC_SEED} (rerun with SUEDE_FC_SEED=${FC_SEED})`;

const TYPES: NodeType[] = ["file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"];

// The reference: tree-codec.ts's encoder before the entry writer, verbatim.
function encodeChunks(chunks: readonly ChunkRef[]): Uint8Array {
  const writer = new ByteWriter(chunks.length * 36);
  for (const chunk of chunks) writer.raw(chunk.id).u32(chunk.sizeBytes);
  return writer.finish(true);
}
const OPT = { chunks: 1, sparse: 2, subtree: 3, linkTarget: 4, rdev: 5, xattrs: 6, unreadable: 7 } as const;
function encodeNode(node: Node): unknown[] {
  const optional: Record<number, unknown> = {};
  if (node.chunks !== undefined) optional[OPT.chunks] = encodeChunks(node.chunks);
  if (node.sparse === true) optional[OPT.sparse] = true;
  if (node.subtree !== undefined) optional[OPT.subtree] = node.subtree.map((id) => id);
  if (node.linkTarget !== undefined) optional[OPT.linkTarget] = node.linkTarget;
  if (node.rdev !== undefined) optional[OPT.rdev] = node.rdev.toString();
  if (node.xattrs !== undefined) optional[OPT.xattrs] = node.xattrs.map(([k, v]) => [k, v]);
  if (node.unreadable !== undefined) optional[OPT.unreadable] = node.unreadable;
  const { name, type, mode, uid, gid, user, group, mtimeNs, ctimeNs, inode, device, nlink, sizeBytes } = node;
  return [name, TYPES.indexOf(type), mode, uid, gid, user, group, mtimeNs.toString(), ctimeNs.toString(), inode.toString(), device.toString(), nlink, sizeBytes, optional];
}
const reference = (nodes: readonly Node[]): Uint8Array => encode([1, nodes.map(encodeNode)]);

const id = fc.uint8Array({ minLength: 32, maxLength: 32 });
const bigU64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
/** Values at each msgpack size-class edge: fixint/uint8/16/32/64. */
const uintEdge = fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER);
const text = fc.oneof(
  fc.constantFrom("", "root", "zoë", "日本", "x".repeat(31), "x".repeat(32), "y".repeat(255), "y".repeat(256), "z".repeat(70_000)),
  fc.string({ maxLength: 40 }),
);
const bytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(new Uint8Array(255), new Uint8Array(256), new Uint8Array(0xffff), new Uint8Array(0x10000)));

const entry = fc.record(
  {
    type: fc.constantFrom(...TYPES),
    mode: fc.oneof(fc.nat(0o7777), uintEdge),
    uid: fc.oneof(fc.nat(), uintEdge),
    gid: uintEdge,
    user: text,
    group: text,
    mtimeNs: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    ctimeNs: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
    inode: bigU64,
    device: bigU64,
    nlink: uintEdge,
    sizeBytes: fc.oneof(fc.nat(70_000), uintEdge),
    chunks: fc.array(fc.record({ id, sizeBytes: fc.nat(2 ** 32 - 1) }), { maxLength: 9 }),
    sparse: fc.boolean(),
    subtree: fc.array(id, { maxLength: 17 }),
    linkTarget: bytes,
    rdev: bigU64,
    xattrs: fc.option(fc.array(fc.tuple(bytes, bytes), { maxLength: 17 }), { freq: 3 }),
    unreadable: fc.option(text, { freq: 4 }),
    name: bytes,
  },
  { requiredKeys: [] },
);
type Spec = typeof entry extends fc.Arbitrary<infer T> ? T : never;

function node(spec: Spec): Node {
  const type = spec.type ?? "file";
  const n = nodeFromSpec(spec.name ?? Buffer.from("n"), spec);
  // Any option on any type: the writer must not depend on which type carries which option.
  if (spec.chunks !== undefined) n.chunks = spec.chunks;
  if (spec.sparse !== undefined) n.sparse = spec.sparse;
  if (spec.subtree !== undefined) n.subtree = spec.subtree;
  if (spec.linkTarget !== undefined) n.linkTarget = spec.linkTarget;
  if (spec.rdev !== undefined) n.rdev = spec.rdev;
  if (spec.xattrs !== undefined && spec.xattrs !== null) n.xattrs = spec.xattrs;
  if (spec.unreadable !== undefined && spec.unreadable !== null) n.unreadable = spec.unreadable;
  return n;
}

test(`tree parts are encode()'s bytes for random entries of every type and edge value (${SEED_NOTE})`, () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 20 }), (specs) => {
      const nodes = specs.map(node);
      const expected = Buffer.from(reference(nodes));
      assert.deepEqual(Buffer.from(encodeTreePart(nodes)), expected);
      assert.deepEqual(Buffer.from(encodeTreePartFrom(nodes)), expected);
    }),
    { seed: FC_SEED, numRuns: 300 },
  );
});

test("parts of 15, 16, 255, 256 and 8192 entries (array header classes) are encode()'s bytes and decode back", () => {
  for (const count of [0, 1, 15, 16, 255, 256, 8192]) {
    const nodes = Array.from({ length: count }, (_, i) =>
      node({ name: Buffer.from(`f${String(i).padStart(5, "0")}`), sizeBytes: i * 977, mtimeNs: BigInt(i) * 1_000_000_007n, chunks: [{ id: new Uint8Array(32).fill(i & 0xff), sizeBytes: i }] }),
    );
    const part = encodeTreePart(nodes);
    assert.deepEqual(Buffer.from(part), Buffer.from(reference(nodes)), `${count} entries`);
    assert.deepEqual(decodeTreePart(part).map((n) => n.sizeBytes), nodes.map((n) => n.sizeBytes));
  }
});

test("a part after one with a 4 MiB chunk list is still encode()'s bytes (the writer's buffer shrinks back)", () => {
  const big = node({ type: "file", chunks: Array.from({ length: 120_000 }, (_, i) => ({ id: new Uint8Array(32).fill(i % 251), sizeBytes: i })) });
  assert.deepEqual(Buffer.from(encodeTreePart([big])), Buffer.from(reference([big])));
  const small = [node({ name: Buffer.from("a"), user: "zoë" })];
  assert.deepEqual(Buffer.from(encodeTreePart(small)), Buffer.from(reference(small)));
});
