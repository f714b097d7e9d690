// Goal: every decoder that reads vault plaintext (trees, snapshots, checkpoints, superblocks, index
// entries, record headers, zstd payloads) answers hostile bytes with a value that satisfies its
// invariants or a clean error: no hang, no huge allocation, no stack overflow. Method: fast-check
// over random bytes, mutated valid encodings and crafted msgpack (deep nesting, huge declared
// lengths, repeated and unsafe names); seed printed, SUEDE_FUZZ_RUNS scales the counts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encode } from "@msgpack/msgpack";
import fc from "fast-check";
import type { Node, Snapshot } from "../../src/core/types.ts";
import { decodeSnapshot, encodeSnapshot } from "../../src/snapshot/snapshot-codec.ts";
import { compareNames, decodeTreePart, encodeTreePart, nameProblem } from "../../src/snapshot/tree-codec.ts";
import { decodeIndexEntries, encodeIndexEntries } from "../../src/vault/blob-index.ts";
import { decodeCheckpoint, decodeSuperblock, encodeCheckpoint } from "../../src/vault/checkpoint.ts";
import { Codec } from "../../src/vault/compress.ts";
import { RecordKind } from "../../src/vault/format.ts";
import { decodeRecordHeader } from "../../src/vault/record.ts";
import { FUZZ_SEED, SEED_NOTE, runs } from "./seed.ts";

const params = (numRuns: number) => ({ seed: FUZZ_SEED, numRuns: runs(numRuns) });

function node(name: string, extra: Partial<Node> = {}): Node {
  return {
    name: Buffer.from(name),
    type: "file",
    mode: 0o100644,
    uid: 1000,
    gid: 1000,
    user: "u",
    group: "g",
    mtimeNs: 1n,
    ctimeNs: 2n,
    inode: 3n,
    device: 4n,
    nlink: 1,
    sizeBytes: 0,
    ...extra,
  };
}

const VALID_TREE = encodeTreePart([
  node("a", { chunks: [{ id: new Uint8Array(32).fill(1), sizeBytes: 5 }], sizeBytes: 5 }),
  node("b", { type: "dir", mode: 0o40755, subtree: [new Uint8Array(32).fill(2)] }),
  node("c", { type: "symlink", linkTarget: Buffer.from("../x"), xattrs: [[Buffer.from("user.k"), Buffer.from("v")]] }),
]);
const VALID_SNAPSHOT = encodeSnapshot({
  number: 3,
  timeMs: 1_700_000_000_000,
  host: "h",
  user: "u",
  paths: ["/p"],
  tags: ["t"],
  pinned: false,
  parent: 2,
  root: [new Uint8Array(32).fill(9)],
  stats: { files: 1, dirs: 1, sizeBytes: 5, filesNew: 1, filesChanged: 0, filesUnchanged: 0, bytesRead: 5, bytesAdded: 5, durationMs: 1, skipped: 0 },
} satisfies Snapshot);
const VALID_CHECKPOINT = encodeCheckpoint({
  sequence: 5,
  previousOffset: 16384,
  selfOffset: 20000,
  timeMs: 1,
  nextSnapshotNumber: 4,
  snapshots: [{ number: 3, id: new Uint8Array(32).fill(9) }],
  indexRecords: [{ offset: 17000, length: 400 }],
});
const VALID_INDEX = encodeIndexEntries([
  { id: new Uint8Array(32).fill(1), offset: 16384, recordLength: 128, rawLength: 5, kind: RecordKind.data },
]);

/** Bit flips, byte overwrites, truncations, insertions and duplications of a valid encoding. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: valid.byteLength });
  return fc.oneof(
    fc.tuple(at, fc.integer({ min: 0, max: 7 })).map(([i, bit]) => {
      const copy = Uint8Array.from(valid);
      if (i < copy.byteLength) copy[i]! ^= 1 << bit;
      return copy;
    }),
    fc.tuple(at, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, run]) => {
      const copy = Uint8Array.from(valid);
      copy.set(run.subarray(0, copy.byteLength - Math.min(i, copy.byteLength)), Math.min(i, copy.byteLength));
      return copy;
    }),
    at.map((i) => valid.subarray(0, i)),
    fc.tuple(at, fc.uint8Array({ maxLength: 16 })).map(([i, run]) => Buffer.concat([valid.subarray(0, i), run, valid.subarray(i)])),
    fc.tuple(at, at).map(([i, j]) => Buffer.concat([valid.subarray(0, Math.max(i, j)), valid.subarray(Math.min(i, j))])),
  );
}

const hostile = (valid: Uint8Array) => fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated(valid));

/** The decoder either returns or throws an Error; it never hangs (the test timeout) or dies. */
function outcome<T>(decode: () => T): T | Error {
  try {
    return decode();
  } catch (error) {
    assert.ok(error instanceof Error, `threw a non-Error: ${String(error)}`);
    return error;
  }
}

function assertTreeInvariants(nodes: Node[]): void {
  for (let i = 0; i < nodes.length; i++) {
    assert.equal(nameProblem(nodes[i]!.name), null);
    if (i > 0) assert.ok(compareNames(nodes[i - 1]!.name, nodes[i]!.name) < 0, "names strictly increasing");
  }
}

test("tree parts: random and mutated bytes decode to safe, ordered entries or an Error", { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(hostile(VALID_TREE), (bytes) => {
      const result = outcome(() => decodeTreePart(bytes));
      if (!(result instanceof Error)) assertTreeInvariants(result);
    }),
    params(3000),
  );
  console.log(`# ${SEED_NOTE}`);
});

test("tree parts: crafted names ('..', '/', NUL, empty, repeated, unsorted) are rejected", () => {
  const unsafe = ["..", ".", "a/b", "/", "a\0b", ""];
  for (const name of unsafe) {
    assert.throws(() => decodeTreePart(encodeTreePart([node(name)])), /name/, JSON.stringify(name));
  }
  assert.throws(() => decodeTreePart(encodeTreePart([node("x"), node("x")])), /repeated or out of name order/);
  assert.throws(() => decodeTreePart(encodeTreePart([node("b"), node("a")])), /repeated or out of name order/);
  assert.deepEqual(decodeTreePart(encodeTreePart([node("..."), node(".a")])).map((n) => Buffer.from(n.name).toString()), ["...", ".a"]);
  fc.assert(
    fc.property(fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 12 }), (names) => {
      const result = outcome(() => decodeTreePart(encodeTreePart(names.map((n) => node(n)))));
      if (!(result instanceof Error)) {
        assertTreeInvariants(result);
        assert.equal(result.length, names.length);
      }
    }),
    params(1000),
  );
});

test("msgpack: deep nesting, huge declared lengths and extension types are clean errors", { timeout: 60_000 }, () => {
  const deep = new Uint8Array(1_000_000).fill(0x91); // a million nested one-element arrays
  deep[deep.length - 1] = 0xc0;
  const hugeArray = Uint8Array.from([0x92, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff]); // [1, array(2^32-1)]
  const hugeBin = Uint8Array.from([0x92, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xf0]);
  const hugeMap = Uint8Array.from([0xdf, 0x7f, 0xff, 0xff, 0xff]);
  const timestamp = Uint8Array.from([0xd6, 0xff, 0, 0, 0, 1]);
  for (const bytes of [deep, hugeArray, hugeBin, hugeMap, timestamp]) {
    for (const decode of [decodeTreePart, decodeSnapshot, decodeCheckpoint] as ((b: Uint8Array) => unknown)[]) {
      const result = outcome(() => decode(bytes));
      assert.ok(result instanceof Error || typeof result === "string", "crafted msgpack must be refused");
    }
  }
  // Structurally valid msgpack of any shape: arbitrary values must never crash a decoder.
  fc.assert(
    fc.property(fc.anything({ maxDepth: 6, withBigInt: false, withMap: false, withSet: false, withTypedArray: true }), (value) => {
      let bytes: Uint8Array;
      try {
        bytes = encode(value);
      } catch {
        return;
      }
      outcome(() => decodeTreePart(bytes));
      outcome(() => decodeSnapshot(bytes));
      const checkpoint = outcome(() => decodeCheckpoint(bytes));
      assert.ok(!(checkpoint instanceof Error), "decodeCheckpoint returns problems as strings");
    }),
    params(2000),
  );
});

test("snapshots, checkpoints, superblocks, index entries, record headers: hostile bytes", { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(hostile(VALID_SNAPSHOT), (bytes) => {
      const result = outcome(() => decodeSnapshot(bytes));
      if (!(result instanceof Error)) assert.ok(result.root.every((id) => id.byteLength === 32));
    }),
    params(2000),
  );
  fc.assert(
    fc.property(hostile(VALID_CHECKPOINT), (bytes) => {
      const result = decodeCheckpoint(bytes); // returns problems; must not throw
      if (typeof result !== "string") assert.ok(result.indexRecords.every((r) => Number.isSafeInteger(r.offset + r.length)));
    }),
    params(2000),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      decodeSuperblock(bytes);
    }),
    params(1000),
  );
  fc.assert(
    fc.property(hostile(VALID_INDEX), (bytes) => {
      const result = decodeIndexEntries(bytes);
      if (typeof result !== "string") assert.ok(result.every((e) => Number.isSafeInteger(e.offset)));
    }),
    params(2000),
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), (bytes) => {
      const result = decodeRecordHeader(bytes);
      if (typeof result !== "string") assert.ok(result.paddedLength <= 64 * 1024 * 1024 && result.rawLength <= 64 * 1024 * 1024);
    }),
    params(3000),
  );
});

test("zstd payloads: only one frame declaring exactly the raw length decompresses (no bombs)", { timeout: 60_000 }, () => {
  const codec = new Codec();
  const raw = Buffer.alloc(200_000, 7);
  const packed = codec.compress(raw);
  assert.equal(packed.flags, 1);
  assert.deepEqual(Buffer.from(codec.decompress(packed.flags, packed.payload, raw.byteLength)), raw);
  // A 2 MB frame of zeros compresses to a few bytes: claimed as a 5-byte record it is refused
  // before anything is allocated for it.
  const bomb = codec.compress(Buffer.alloc(2_000_000));
  assert.throws(() => codec.decompress(bomb.flags, bomb.payload, 5), /declares 2000000 bytes, expected 5/);
  assert.throws(() => codec.decompress(packed.flags, Buffer.concat([packed.payload, packed.payload]), raw.byteLength), /exactly one frame/);
  fc.assert(
    fc.property(hostile(packed.payload), fc.nat({ max: 300_000 }), (bytes, claimed) => {
      const result = outcome(() => codec.decompress(1, bytes, claimed));
      if (!(result instanceof Error)) assert.equal(result.byteLength, claimed);
    }),
    params(2000),
  );
});
