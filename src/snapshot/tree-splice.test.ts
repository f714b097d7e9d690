// Goal: a tree part built from the parent's encoded entries (copied) and changed entries (encoded)
// is byte for byte what encodeTreePart writes for the same nodes: the tree blob's ID is a keyed
// hash of those bytes, so any difference would break dedup of every re-run's trees. Method: a
// fast-check property (seed from SUEDE_FC_SEED, always logged) over random entry lists of every
// type and edge value and random change sets, with the encoded entries cut out of a real part by
// TreePartScanner's entry ranges, as backup takes them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import fc from "fast-check";
import type { Node, NodeType } from "../core/types.ts";
import { decodeTreeEntry, decodeTreePart, type EncodedEntry, encodeTreePart, encodeTreePartFrom, TreePartScanner } from "./tree-codec.ts";
import { nodeFromSpec } from "../../test/helpers/node-spec.ts";

const envSeed = process.env["SUEDE_FC_SEED"];
const FC_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FC_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);
const SEED_NOTE = `fast-check seed ${FC_SEED} (rerun with SUEDE_FC_SEED=${FC_SEED})`;

const TYPES: NodeType[] = ["file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"];
const id = fc.uint8Array({ minLength: 32, maxLength: 32 });
const bigU64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

/** One entry without its name (names are made sorted and distinct per list). */
const entry = fc.record(
  {
    type: fc.constantFrom(...TYPES),
    mode: fc.nat(0o7777),
    uid: fc.constantFrom(0, 1000, 65534, 4_294_967_294),
    gid: fc.nat(),
    user: fc.constantFrom("", "root", "zoë", "x".repeat(40)),
    group: fc.constantFrom("", "wheel", "日本"),
    mtimeNs: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 63n - 1n }),
    ctimeNs: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
    inode: bigU64,
    device: bigU64,
    nlink: fc.oneof(fc.nat(300), fc.constant(2 ** 40)),
    sizeBytes: fc.oneof(fc.nat(70_000), fc.constant(2 ** 33), fc.constant(Number.MAX_SAFE_INTEGER)),
    chunks: fc.array(fc.record({ id, sizeBytes: fc.nat(2 ** 32 - 1) }), { maxLength: 4 }),
    sparse: fc.boolean(),
    subtree: fc.array(id, { maxLength: 3 }),
    linkTarget: fc.uint8Array({ minLength: 1, maxLength: 300 }),
    rdev: bigU64,
    xattrs: fc.option(fc.constant([[Buffer.from("user.a"), Buffer.from([1, 2, 3])] as const]), { freq: 6 }),
    unreadable: fc.option(fc.constant("EACCES"), { freq: 6 }),
    nameTail: fc.uint8Array({ maxLength: 3 }),
  },
  { requiredKeys: [] },
);

type Spec = Partial<typeof entry extends fc.Arbitrary<infer T> ? T : never>;

function node(spec: Spec, i: number): Node {
  const type = spec.type ?? "file";
  // Sorted and distinct by the prefix; the tail makes some names non-UTF-8.
  const n = nodeFromSpec(Buffer.concat([Buffer.from(String(i).padStart(5, "0")), Buffer.from((spec.nameTail ?? new Uint8Array()).map((b: number) => (b === 0x2f || b === 0 ? 0x41 : b)))]), spec);
  if (type === "file") n.chunks = spec.chunks ?? [];
  if (type === "file" && spec.sparse === true) n.sparse = true;
  if (type === "dir") n.subtree = spec.subtree ?? [];
  if (type === "symlink") n.linkTarget = spec.linkTarget ?? Buffer.from("t");
  if (type === "chardev" || type === "blockdev") n.rdev = spec.rdev ?? 0n;
  if (spec.xattrs !== undefined && spec.xattrs !== null) n.xattrs = spec.xattrs;
  if (spec.unreadable !== undefined && spec.unreadable !== null) n.unreadable = spec.unreadable;
  return n;
}

/** The parent's entries as backup takes them: ranges of an encoded part, found by the scanner. */
function encodedEntries(nodes: readonly Node[]): EncodedEntry[] {
  const part = encodeTreePart(nodes);
  const scanner = new TreePartScanner(part);
  const out: EncodedEntry[] = [];
  while (scanner.next()) out.push({ name: part.subarray(scanner.nameStart, scanner.nameEnd), encoded: part.subarray(scanner.entryStart, scanner.entryEnd) });
  return out;
}

test("a part spliced from the parent's encoded entries and re-encoded changed ones equals encodeTreePart's bytes", () => {
  console.log(SEED_NOTE);
  // Up to 300 entries, so both the fixarray (< 16) and the array16 header are covered.
  const lists = fc.array(fc.tuple(entry, entry, fc.nat(3)), { maxLength: 300 });
  fc.assert(
    fc.property(lists, (rows) => {
      const before = rows.map(([spec], i) => node(spec, i));
      // Per entry: 0 kept (copied bytes), 1 the same node re-encoded, 2 changed, 3 changed and copied
      // from a part encoded for the changed node.
      const after = rows.map(([spec, other, how], i) => (how >= 2 ? node({ ...spec, ...other }, i) : before[i]!));
      const oldEncoded = encodedEntries(before);
      const newEncoded = encodedEntries(after);
      const mixed = rows.map(([, , how], i) => (how === 0 ? oldEncoded[i]! : how === 3 ? newEncoded[i]! : after[i]!));
      const spliced = encodeTreePartFrom(mixed);
      assert.deepEqual(Buffer.from(spliced), Buffer.from(encodeTreePart(after)));
      // Each copied entry decodes on its own as the whole part decodes it.
      const decoded = decodeTreePart(encodeTreePart(before));
      rows.forEach(([, , how], i) => how === 0 && assert.deepEqual(decodeTreeEntry(oldEncoded[i]!.encoded), decoded[i]));
    }),
    { seed: FC_SEED, numRuns: 150 },
  );
});

test("every part size around the array header's forms encodes as encodeTreePart's, copied or mixed", () => {
  assert.deepEqual(Buffer.from(encodeTreePartFrom([])), Buffer.from(encodeTreePart([])));
  for (const length of [1, 15, 16, 17, 255, 256, 8192]) {
    const nodes = Array.from({ length }, (_, i) => node({ type: TYPES[i % TYPES.length]! }, i));
    const copied = encodedEntries(nodes);
    assert.deepEqual(Buffer.from(encodeTreePartFrom(copied)), Buffer.from(encodeTreePart(nodes)), `${length} copied`);
    const mixed = copied.map((entry, i) => (i % 2 === 0 ? entry : nodes[i]!));
    assert.deepEqual(Buffer.from(encodeTreePartFrom(mixed)), Buffer.from(encodeTreePart(nodes)), `${length} mixed`);
  }
});

test("decodeTreeEntry refuses an entry whose name could leave the directory", () => {
  const [bad] = encodedEntries([{ ...node({}, 0), name: Buffer.from("..") }]);
  assert.throws(() => decodeTreeEntry(bad!.encoded), /tree entry name is '\.' or '\.\.'/);
});
