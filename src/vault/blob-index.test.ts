// Goal: BlobIndex behaves like a Map from 32-byte id to location (last write wins, no phantom ids, each id listed once) in bounded memory, and index record bodies round-trip. Method: fast-check properties (seed from SUEDE_FC_SEED, always logged) against a Map model, including ids that collide in the hashed first four bytes; a 1M-entry memory check (64 bytes per entry at most, issue 5).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, randomInt } from "node:crypto";
import fc from "fast-check";
import { type BlobEntry, type BlobLocation, BlobIndex, decodeIndexEntries, encodeIndexEntries } from "./blob-index.ts";
import { INDEX_ENTRY_SIZE_BYTES, LOG_START_OFFSET, RECORD_BODY_SIZE_MAX_BYTES, RECORD_OVERHEAD_BYTES, RecordKind, type RecordKindCode } from "./format.ts";

const envSeed = process.env["SUEDE_FC_SEED"];
const FC_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FC_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);
const SEED_NOTE = `fast-check seed ${FC_SEED} (rerun with SUEDE_FC_SEED=${FC_SEED})`;

/** Index entries locate blobs: data, tree and snapshot records. */
const KINDS: RecordKindCode[] = [RecordKind.data, RecordKind.tree, RecordKind.snapshot];

function pseudoRandomBytes(seed: number, length: number): Uint8Array {
  const key = new Uint8Array(16);
  new DataView(key.buffer).setUint32(0, seed >>> 0, true);
  const cipher = createCipheriv("aes-128-ctr", key, new Uint8Array(16));
  return new Uint8Array(Buffer.concat([cipher.update(new Uint8Array(length)), cipher.final()]));
}

/**
 * count distinct ids. With `collide`, the first four bytes (the hash slot) come from only a few
 * values, so probing runs long and wraps around the table.
 */
function makeIds(seed: number, count: number, collide: boolean): Uint8Array[] {
  const bytes = pseudoRandomBytes(seed, count * 32);
  const ids: Uint8Array[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const id = bytes.slice(i * 32, i * 32 + 32);
    if (collide) {
      const bucket = i % 3;
      id[0] = bucket === 2 ? 0xff : 0;
      id[1] = bucket === 2 ? 0xff : 0;
      id[2] = bucket === 2 ? 0xff : 0;
      id[3] = bucket === 2 ? 0xff : bucket;
    }
    const key = Buffer.from(id).toString("hex");
    if (seen.has(key)) continue;
    seen.add(key);
    ids.push(id);
  }
  return ids;
}

const locationArb: fc.Arbitrary<BlobLocation> = fc.record({
  offset: fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  recordLength: fc.integer({ min: 0, max: 0xffff_ffff }),
  rawLength: fc.integer({ min: 0, max: 0xffff_ffff }),
  kind: fc.constantFrom(...KINDS),
});

/** Locations of whole records inside a log that ends at LOG_END (what addIndexRecord accepts). */
const LOG_END = 2 ** 41;
const inLogArb: fc.Arbitrary<BlobLocation> = fc.record({
  offset: fc.integer({ min: LOG_START_OFFSET, max: 2 ** 40 }),
  recordLength: fc.integer({ min: RECORD_OVERHEAD_BYTES, max: RECORD_OVERHEAD_BYTES + RECORD_BODY_SIZE_MAX_BYTES }),
  rawLength: fc.integer({ min: 0, max: 0xffff_ffff }),
  kind: fc.constantFrom(...KINDS),
});

const hex = (id: Uint8Array) => Buffer.from(id).toString("hex");

test("BlobIndex: get returns the last set value, has() is false for absent ids, entries() yields each id once", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 5000 }),
      fc.boolean(),
      fc.integer(),
      fc.array(fc.tuple(fc.nat(), locationArb), { maxLength: 7000 }),
      fc.integer({ min: 0, max: 5000 }),
      (count, collide, seed, ops, hint) => {
        const pool = makeIds(seed, count + 50, collide && count <= 1500);
        const present = pool.slice(0, Math.min(count, pool.length));
        const absent = pool.slice(present.length);
        const index = new BlobIndex(hint);
        const model = new Map<string, BlobLocation>();
        // Every present id is set once, then random ids are overwritten.
        present.forEach((id, i) => {
          const location: BlobLocation = { offset: i * 97, recordLength: i, rawLength: i * 2, kind: KINDS[i % KINDS.length]! };
          index.set(id, location);
          model.set(hex(id), location);
        });
        if (present.length > 0) {
          for (const [which, location] of ops) {
            const id = present[which % present.length]!;
            // A fresh copy of the id: the index must compare bytes, not identity.
            index.set(Uint8Array.from(id), location);
            model.set(hex(id), { ...location }); // fast-check records have a null prototype
          }
        }
        assert.equal(index.size, model.size);
        for (const id of present) {
          assert.ok(index.has(id));
          assert.deepEqual(index.get(Uint8Array.from(id)), model.get(hex(id)));
        }
        for (const id of absent) {
          assert.equal(index.has(id), false);
          assert.equal(index.get(id), undefined);
        }
        const listed = new Set<string>();
        for (const entry of index.entries()) {
          const key = hex(entry.id);
          assert.ok(!listed.has(key), `entries() yielded ${key} twice`);
          listed.add(key);
          const { id: _id, ...location } = entry;
          assert.deepEqual(location, model.get(key));
        }
        assert.equal(listed.size, model.size);
      },
    ),
    { seed: FC_SEED, numRuns: 40 },
  );
});

test("BlobIndex: ids equal in their first four bytes stay distinct across growth", () => {
  const index = new BlobIndex();
  const ids = makeIds(99, 4000, true);
  ids.forEach((id, i) => index.set(id, { offset: i, recordLength: 1, rawLength: 1, kind: RecordKind.data }));
  assert.equal(index.size, ids.length);
  ids.forEach((id, i) => assert.equal(index.get(id)?.offset, i));
});

test("BlobIndex.set: rejects ids that are not 32 bytes", () => {
  const index = new BlobIndex();
  assert.throws(() => index.set(new Uint8Array(31), { offset: 0, recordLength: 0, rawLength: 0, kind: RecordKind.data }));
  assert.throws(() => index.has(new Uint8Array(33)));
});

test("encodeIndexEntries/decodeIndexEntries: round trip", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), locationArb), { maxLength: 300 }), (items) => {
      const entries: BlobEntry[] = items.map(([id, location]) => ({ id, ...location }));
      const body = encodeIndexEntries(entries);
      assert.equal(body.byteLength, entries.length * INDEX_ENTRY_SIZE_BYTES);
      const decoded = decodeIndexEntries(body);
      assert.ok(typeof decoded !== "string", String(decoded));
      assert.equal(decoded.length, entries.length);
      decoded.forEach((entry, i) => {
        const { id, ...location } = entry;
        const { id: wantId, ...wantLocation } = entries[i]!;
        assert.deepEqual(Buffer.from(id), Buffer.from(wantId));
        assert.deepEqual(location, wantLocation);
      });
    }),
    { seed: FC_SEED, numRuns: 200 },
  );
});

test("decodeIndexEntries: a ragged length, a non-blob kind or non-zero reserved bytes is a problem string", () => {
  const entry: BlobEntry = { id: new Uint8Array(32).fill(7), offset: 16384, recordLength: 128, rawLength: 10, kind: RecordKind.data };
  const body = encodeIndexEntries([entry, entry]);
  assert.match(String(decodeIndexEntries(body.subarray(0, body.byteLength - 1))), /multiple of the entry size/);
  const badKind = Uint8Array.from(body);
  for (const kind of [0, RecordKind.index, RecordKind.checkpoint, RecordKind.superblock, 7]) {
    badKind[INDEX_ENTRY_SIZE_BYTES + 48] = kind;
    assert.match(String(decodeIndexEntries(badKind)), new RegExp(`kind ${kind}`));
  }
  const reserved = Uint8Array.from(body);
  reserved[INDEX_ENTRY_SIZE_BYTES - 1] = 1;
  assert.match(String(decodeIndexEntries(reserved)), /reserved/);
  assert.deepEqual(decodeIndexEntries(new Uint8Array(0)), []);
});

test("decodeIndexEntries: an offset beyond 2^53 is a problem string, not a throw", () => {
  const entry: BlobEntry = { id: new Uint8Array(32).fill(7), offset: 16384, recordLength: 128, rawLength: 10, kind: RecordKind.data };
  const body = Uint8Array.from(encodeIndexEntries([entry]));
  new DataView(body.buffer).setBigUint64(32, 1n << 60n, true);
  let result: ReturnType<typeof decodeIndexEntries> | undefined;
  assert.doesNotThrow(() => {
    result = decodeIndexEntries(body);
  });
  assert.equal(typeof result, "string");
});

test("BlobIndex.memoryBytes: at most 64 bytes per entry at 1M entries, whether set one by one or loaded from records", () => {
  const count = 1_000_000;
  const ids = pseudoRandomBytes(7, count * 32);
  const bySet = new BlobIndex();
  for (let i = 0; i < count; i++) {
    bySet.set(ids.subarray(i * 32, i * 32 + 32), { offset: 16384 + i * 1000, recordLength: 1000, rawLength: 900, kind: RecordKind.data });
  }
  const byRecords = new BlobIndex();
  for (let start = 0; start < count; start += 65536) assert.equal(byRecords.addIndexRecord(bySet.encodeRange(start, Math.min(count, start + 65536)), Number.MAX_SAFE_INTEGER), null);
  for (const index of [bySet, byRecords]) {
    assert.equal(index.size, count);
    const perEntry = index.memoryBytes / index.size;
    assert.ok(perEntry <= 64, `${perEntry.toFixed(1)} bytes per entry`);
    assert.equal(index.get(ids.subarray((count - 1) * 32, count * 32))?.offset, 16384 + (count - 1) * 1000);
    assert.equal(index.get(ids.subarray(0, 32))?.offset, 16384);
  }
});

test("BlobIndex.filtered, setOffset, encodeRange and encodeList agree with entries()", () => {
  const ids = makeIds(5, 40_000, false);
  const index = new BlobIndex();
  ids.forEach((id, i) => index.set(id, { offset: 16384 + i * 300, recordLength: 200 + (i % 50), rawLength: i, kind: KINDS[i % 3]! }));
  const kept = index.filtered((entry) => entry % 3 !== 1);
  assert.equal(kept.size, ids.filter((_, i) => i % 3 !== 1).length);
  ids.forEach((id, i) => assert.deepEqual(kept.get(id), i % 3 === 1 ? undefined : index.get(id)));
  const moved = kept.entryNumber(ids[3]!);
  kept.setOffset(moved, 2 ** 40 + 5);
  assert.equal(kept.get(ids[3]!)?.offset, 2 ** 40 + 5);
  const all = decodeIndexEntries(kept.encodeRange(0, kept.size));
  assert.ok(typeof all !== "string");
  assert.deepEqual(all.map((e) => ({ ...e, id: hex(e.id) })), [...kept.entries()].map((e) => ({ ...e, id: hex(e.id) })));
  const some = decodeIndexEntries(kept.encodeList(Int32Array.of(5, 0, moved)));
  assert.ok(typeof some !== "string");
  assert.deepEqual(some.map((e) => hex(e.id)), [5, 0, moved].map((n) => hex(kept.idOf(n))));
  assert.equal(some[2]!.offset, 2 ** 40 + 5);
});

test("BlobIndex.addIndexRecord: same index as decoding each record and calling set (last write wins)", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(
      fc.integer(),
      fc.boolean(),
      fc.array(fc.array(fc.tuple(fc.nat(), inLogArb), { maxLength: 400 }), { maxLength: 6 }),
      (seed, collide, records) => {
        const pool = makeIds(seed, 300, collide);
        const viaRecords = new BlobIndex();
        const viaSet = new BlobIndex();
        for (const record of records) {
          const entries: BlobEntry[] = record.map(([n, location]) => ({ id: pool[n % pool.length]!, ...location }));
          assert.equal(viaRecords.addIndexRecord(encodeIndexEntries(entries), LOG_END), null);
          for (const entry of entries) viaSet.set(entry.id, entry);
        }
        assert.equal(viaRecords.size, viaSet.size);
        for (const id of pool) assert.deepEqual(viaRecords.get(id), viaSet.get(id), hex(id));
        assert.deepEqual([...viaRecords.entries()].map((e) => hex(e.id)), [...viaSet.entries()].map((e) => hex(e.id)));
      },
    ),
    { seed: FC_SEED, numRuns: 100 },
  );
});

test("BlobIndex.addIndexRecord: a malformed record is a problem string and adds nothing", () => {
  const entry: BlobEntry = { id: new Uint8Array(32).fill(7), offset: 16384, recordLength: 128, rawLength: 10, kind: RecordKind.data };
  const other: BlobEntry = { ...entry, id: new Uint8Array(32).fill(9) };
  const body = encodeIndexEntries([other, entry]);
  const index = new BlobIndex();
  const ragged = body.subarray(0, body.byteLength - 1);
  const badKind = Uint8Array.from(body);
  badKind[INDEX_ENTRY_SIZE_BYTES + 48] = RecordKind.index;
  const reserved = Uint8Array.from(body);
  reserved[2 * INDEX_ENTRY_SIZE_BYTES - 1] = 1;
  const huge = Uint8Array.from(body);
  new DataView(huge.buffer).setBigUint64(INDEX_ENTRY_SIZE_BYTES + 32, 1n << 53n, true);
  for (const [bad, pattern] of [[ragged, /multiple/], [badKind, /kind/], [reserved, /reserved/], [huge, /2\^53/]] as const) {
    assert.match(String(index.addIndexRecord(bad, LOG_END)), pattern);
    assert.equal(index.size, 0);
  }
  const maxSafe = Uint8Array.from(body);
  new DataView(maxSafe.buffer).setBigUint64(32, BigInt(Number.MAX_SAFE_INTEGER - 128), true);
  assert.equal(index.addIndexRecord(maxSafe, Number.MAX_SAFE_INTEGER), null);
  assert.equal(index.get(other.id)?.offset, Number.MAX_SAFE_INTEGER - 128);
  assert.deepEqual(index.get(entry.id), { offset: 16384, recordLength: 128, rawLength: 10, kind: RecordKind.data });
});

test("BlobIndex.addIndexRecord: an entry that is not a whole record inside the committed log is a problem string and adds nothing", () => {
  const good: BlobEntry = { id: new Uint8Array(32).fill(3), offset: LOG_START_OFFSET, recordLength: 128, rawLength: 10, kind: RecordKind.data };
  const logEnd = LOG_START_OFFSET + 4096;
  const index = new BlobIndex();
  const bad: Partial<BlobLocation>[] = [
    { offset: LOG_START_OFFSET - 1 }, // inside the header area
    { offset: logEnd - 127 }, // runs past the committed end
    { offset: logEnd }, // starts at the committed end
    { recordLength: RECORD_OVERHEAD_BYTES - 1 }, // shorter than any record
    { recordLength: RECORD_OVERHEAD_BYTES + RECORD_BODY_SIZE_MAX_BYTES + 1 }, // longer than any record
  ];
  for (const change of bad) {
    const other: BlobEntry = { ...good, id: new Uint8Array(32).fill(4), ...change };
    assert.match(String(index.addIndexRecord(encodeIndexEntries([good, other]), logEnd)), /points outside the log/, JSON.stringify(change));
    assert.equal(index.size, 0);
  }
  assert.equal(index.addIndexRecord(encodeIndexEntries([good, { ...good, id: new Uint8Array(32).fill(4), offset: logEnd - 128 }]), logEnd), null);
  assert.equal(index.size, 2);
});
