/**
 * CPU per entry of encoding a tree part of small files (what a first backup's main thread does once
 * per file): tree-codec.ts's entry writer against @msgpack/msgpack's encode() of the entry arrays
 * (the encoder before issue 5's change, which the writer's bytes must equal). Checks they are equal.
 * Run: node --import tsx scripts/benchmarks/tree-encode.ts [rounds]
 */
import { encode } from "@msgpack/msgpack";
import type { ChunkRef, Node } from "../../src/core/types.ts";
import { encodeTreePart } from "../../src/snapshot/tree-codec.ts";
import { ByteWriter } from "../../src/util/bytes.ts";

const rounds = Number(process.argv[2] ?? 7);
function encodeChunks(chunks: readonly ChunkRef[]): Uint8Array {
  const writer = new ByteWriter(chunks.length * 36);
  for (const chunk of chunks) writer.raw(chunk.id).u32(chunk.sizeBytes);
  return writer.finish(true);
}
/** The entry array encode() was given (file entries only). */
function entryArray(node: Node): unknown[] {
  const { name, mode, uid, gid, user, group, mtimeNs, ctimeNs, inode, device, nlink, sizeBytes } = node;
  return [name, 0, mode, uid, gid, user, group, mtimeNs.toString(), ctimeNs.toString(), inode.toString(), device.toString(), nlink, sizeBytes, { 1: encodeChunks(node.chunks!) }];
}
const nodes: Node[] = Array.from({ length: 1000 }, (_, i) => ({
  name: Buffer.from(`f${String(i).padStart(4, "0")}.txt`),
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  user: "user",
  group: "user",
  mtimeNs: 1_764_250_000_123_456_789n + BigInt(i),
  ctimeNs: 1_764_250_000_123_456_789n,
  inode: 1_234_567n + BigInt(i),
  device: 2049n,
  nlink: 1,
  sizeBytes: 32 + i,
  chunks: [{ id: new Uint8Array(32).fill(i & 0xff), sizeBytes: 32 + i }],
}));
if (Buffer.compare(encodeTreePart(nodes), encode([1, nodes.map(entryArray)])) !== 0) throw new Error("the writer's bytes differ from encode()'s");
const cpuUs = (run: () => void): number => {
  const start = process.cpuUsage();
  for (let k = 0; k < 100; k++) run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / (100 * nodes.length);
};
const before: number[] = [];
const after: number[] = [];
for (let r = 0; r < rounds; r++) {
  before.push(cpuUs(() => encode([1, nodes.map(entryArray)])));
  after.push(cpuUs(() => encodeTreePart(nodes)));
}
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`CPU µs per entry, medians of ${rounds}: encode() ${median(before).toFixed(2)}, entry writer ${median(after).toFixed(2)}`);
