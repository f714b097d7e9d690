// Goal: records round-trip for every kind and detect any damage without throwing; Padmé padding keeps its bounds. Method: fast-check properties (seed from SUEDE_FC_SEED, always logged) over payload lengths, flags and bit positions, on AES-CTR pseudo-random payloads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, randomInt } from "node:crypto";
import fc from "fast-check";
import { systemRandom } from "../util/random.ts";
import {
  RECORD_BODY_SIZE_MAX_BYTES,
  RECORD_FLAG_ZSTD,
  RECORD_OVERHEAD_BYTES,
  RECORD_PREFIX_SIZE_BYTES,
  RecordKind,
  type RecordKindCode,
} from "./format.ts";
import {
  type RecordKeys,
  decodeRecordHeader,
  encodeRecordHeader,
  openRecordBody,
  openRecordHeader,
  paddedLength,
  recordSizeBytes,
  sealRecord,
} from "./record.ts";

const envSeed = process.env["SUEDE_FC_SEED"];
const FC_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FC_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);
const SEED_NOTE = `fast-check seed ${FC_SEED} (rerun with SUEDE_FC_SEED=${FC_SEED})`;

// Padding records carry no payload (sealPadding); every other kind round-trips any payload.
const KINDS = (Object.values(RecordKind) as RecordKindCode[]).filter((kind) => kind !== RecordKind.padding);

/** Deterministic bytes for a seed: the AES-128-CTR keystream under a key holding the seed. */
function pseudoRandomBytes(seed: number, length: number): Uint8Array {
  const key = new Uint8Array(16);
  new DataView(key.buffer).setUint32(0, seed >>> 0, true);
  const cipher = createCipheriv("aes-128-ctr", key, new Uint8Array(16));
  return new Uint8Array(Buffer.concat([cipher.update(new Uint8Array(length)), cipher.final()]));
}

function keysFromSeed(seed: number): RecordKeys {
  const bytes = pseudoRandomBytes(0x6b657900 ^ seed, 48);
  return { vaultId: bytes.slice(0, 16), recordBase: bytes.slice(16, 48) };
}

type Opened = { header: Exclude<ReturnType<typeof openRecordHeader>, string>["header"]; body: Uint8Array } | string;

/** Opens a whole record the way readers do: the 80-byte prefix, then the rest. */
function openWhole(keys: RecordKeys, record: Uint8Array): Opened {
  const opened = openRecordHeader(keys, record.subarray(0, RECORD_PREFIX_SIZE_BYTES));
  if (typeof opened === "string") return opened;
  const body = openRecordBody(keys, opened, record.subarray(RECORD_PREFIX_SIZE_BYTES));
  if (typeof body === "string") return body;
  return { header: opened.header, body };
}

const payloadArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 300_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 31, 32, 33, 1023, 1024, 1025, 65_535, 65_536, 65_537, 300_000) },
);

test("sealRecord/openRecordHeader/openRecordBody: every kind, flag, id and payload length 0..300000 round-trips", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(
      fc.constantFrom(...KINDS),
      fc.constantFrom(0, RECORD_FLAG_ZSTD),
      payloadArb,
      fc.integer(),
      fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }),
      fc.integer({ min: 0, max: RECORD_BODY_SIZE_MAX_BYTES }),
      (kind, flags, length, seed, id, rawLength) => {
        const keys = keysFromSeed(seed);
        const payload = pseudoRandomBytes(seed, length);
        const record = sealRecord(keys, systemRandom, { kind, flags, payload, rawLength, ...(id !== undefined ? { id } : {}) });
        assert.equal(record.byteLength, recordSizeBytes(paddedLength(length)));
        assert.equal(record.byteLength, RECORD_OVERHEAD_BYTES + paddedLength(length));
        const opened = openWhole(keys, record);
        assert.ok(typeof opened !== "string", `open failed: ${String(opened)}`);
        assert.equal(opened.header.kind, kind);
        assert.equal(opened.header.flags, flags);
        assert.equal(opened.header.storedLength, length);
        assert.equal(opened.header.paddedLength, paddedLength(length));
        assert.equal(opened.header.rawLength, rawLength);
        assert.deepEqual(Buffer.from(opened.header.id), Buffer.from(id ?? new Uint8Array(32)));
        assert.ok(Buffer.from(opened.body).equals(Buffer.from(payload)), "body differs from the sealed payload");
      },
    ),
    { seed: FC_SEED, numRuns: 120 },
  );
});

test("openRecordHeader: a longer prefix (the whole record) opens like the 80-byte prefix", () => {
  const keys = keysFromSeed(1);
  const record = sealRecord(keys, systemRandom, { kind: RecordKind.tree, flags: 0, payload: pseudoRandomBytes(2, 500), rawLength: 500 });
  const fromWhole = openRecordHeader(keys, record);
  assert.ok(typeof fromWhole !== "string");
  assert.equal(fromWhole.header.storedLength, 500);
});

test("sealRecord: two seals of the same input differ (fresh salt per record)", () => {
  const keys = keysFromSeed(3);
  const input = { kind: RecordKind.data, flags: 0, payload: pseudoRandomBytes(4, 1000), rawLength: 1000 } as const;
  const a = sealRecord(keys, systemRandom, input);
  const b = sealRecord(keys, systemRandom, input);
  assert.equal(a.byteLength, b.byteLength);
  assert.ok(!Buffer.from(a).equals(Buffer.from(b)));
});

test("openRecordHeader/openRecordBody: a flipped bit anywhere gives a problem string, never a throw or a body", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(
      fc.constantFrom(...KINDS),
      fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.constantFrom(0, 32, 33, 100_000)),
      fc.integer(),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (kind, length, seed, where) => {
        const keys = keysFromSeed(seed);
        const record = sealRecord(keys, systemRandom, { kind, flags: 0, payload: pseudoRandomBytes(seed, length), rawLength: length });
        const bit = Math.floor(where * record.byteLength * 8);
        const damaged = Uint8Array.from(record);
        damaged[bit >> 3]! ^= 1 << (bit & 7);
        let result: Opened;
        assert.doesNotThrow(() => {
          result = openWhole(keys, damaged);
        });
        assert.equal(typeof result!, "string", `bit ${bit} of ${record.byteLength * 8} flipped and the record still opened`);
      },
    ),
    { seed: FC_SEED, numRuns: 400 },
  );
});

test("openRecordHeader/openRecordBody: every single-bit flip of a small record is detected (exhaustive)", () => {
  const keys = keysFromSeed(11);
  const record = sealRecord(keys, systemRandom, { kind: RecordKind.index, flags: 0, payload: pseudoRandomBytes(12, 40), rawLength: 40 });
  for (let bit = 0; bit < record.byteLength * 8; bit++) {
    const damaged = Uint8Array.from(record);
    damaged[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(typeof openWhole(keys, damaged), "string", `bit ${bit} flipped and the record still opened`);
  }
});

test("openRecordHeader/openRecordBody: truncated records give problem strings", () => {
  const keys = keysFromSeed(5);
  const record = sealRecord(keys, systemRandom, { kind: RecordKind.data, flags: 0, payload: pseudoRandomBytes(6, 3000), rawLength: 3000 });
  for (const cut of [0, 1, 16, 79]) {
    assert.equal(openRecordHeader(keys, record.subarray(0, cut)), "record prefix truncated");
  }
  const opened = openRecordHeader(keys, record);
  assert.ok(typeof opened !== "string");
  for (const cut of [RECORD_PREFIX_SIZE_BYTES, RECORD_PREFIX_SIZE_BYTES + 1, record.byteLength - 1]) {
    assert.equal(typeof openRecordBody(keys, opened, record.subarray(RECORD_PREFIX_SIZE_BYTES, cut)), "string");
  }
  const longer = new Uint8Array(record.byteLength + 1);
  longer.set(record);
  assert.equal(typeof openRecordBody(keys, opened, longer.subarray(RECORD_PREFIX_SIZE_BYTES)), "string");
});

test("openRecordHeader: a record of another vault id with the same recordBase fails", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(fc.integer(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 4000 }), (seed, otherId, length) => {
      const keys = keysFromSeed(seed);
      fc.pre(!Buffer.from(otherId).equals(Buffer.from(keys.vaultId)));
      const record = sealRecord(keys, systemRandom, { kind: RecordKind.snapshot, flags: 0, payload: pseudoRandomBytes(seed, length), rawLength: length });
      const other: RecordKeys = { vaultId: otherId, recordBase: keys.recordBase };
      const result = openWhole(other, record);
      assert.equal(typeof result, "string");
    }),
    { seed: FC_SEED, numRuns: 100 },
  );
});

test("openRecordHeader: a record under another recordBase fails", () => {
  const keys = keysFromSeed(21);
  const other: RecordKeys = { vaultId: keys.vaultId, recordBase: keysFromSeed(22).recordBase };
  const record = sealRecord(keys, systemRandom, { kind: RecordKind.data, flags: 0, payload: pseudoRandomBytes(1, 100), rawLength: 100 });
  assert.equal(openRecordHeader(other, record), "record header fails authentication");
});

test("openRecordBody: a body spliced from another record of the same vault and length fails", () => {
  const keys = keysFromSeed(31);
  const a = sealRecord(keys, systemRandom, { kind: RecordKind.data, flags: 0, payload: pseudoRandomBytes(1, 5000), rawLength: 5000 });
  const b = sealRecord(keys, systemRandom, { kind: RecordKind.data, flags: 0, payload: pseudoRandomBytes(2, 5000), rawLength: 5000 });
  const openedA = openRecordHeader(keys, a);
  assert.ok(typeof openedA !== "string");
  assert.equal(openRecordBody(keys, openedA, b.subarray(RECORD_PREFIX_SIZE_BYTES)), "record body fails authentication");
});

test("decodeRecordHeader: unknown kinds, reserved bits and out-of-range lengths are problems", () => {
  const good = { kind: RecordKind.data, flags: 0, storedLength: 10, paddedLength: 32, rawLength: 10, id: new Uint8Array(32) } as const;
  assert.equal(typeof decodeRecordHeader(encodeRecordHeader(good)), "object");
  const bytes = (patch: (b: Uint8Array) => void) => {
    const b = Uint8Array.from(encodeRecordHeader(good));
    patch(b);
    return decodeRecordHeader(b);
  };
  assert.match(String(bytes((b) => (b[0] = 0))), /unknown record kind 0/);
  assert.match(String(bytes((b) => (b[0] = 8))), /unknown record kind 8/);
  assert.match(String(bytes((b) => (b[1] = 2))), /reserved header bits/);
  assert.match(String(bytes((b) => (b[2] = 1))), /reserved header bits/);
  assert.match(String(bytes((b) => (b[3] = 0x80))), /reserved header bits/);
  assert.match(String(decodeRecordHeader(encodeRecordHeader({ ...good, paddedLength: RECORD_BODY_SIZE_MAX_BYTES + 1, storedLength: 0 }))), /over the maximum/);
  assert.match(String(decodeRecordHeader(encodeRecordHeader({ ...good, storedLength: 33 }))), /stored length exceeds/);
  // The padded length must be exactly Padmé of the stored length (no other padding is ever written).
  assert.match(String(decodeRecordHeader(encodeRecordHeader({ ...good, storedLength: 40, paddedLength: 48 }))), /Padmé/);
  assert.match(String(decodeRecordHeader(encodeRecordHeader({ ...good, storedLength: 0, paddedLength: 64 }))), /Padmé/);
  assert.match(String(decodeRecordHeader(encodeRecordHeader({ ...good, rawLength: RECORD_BODY_SIZE_MAX_BYTES + 1 }))), /raw length/);
});

test("sealRecord: a record sealed with flags outside the known bits does not open (problem string)", () => {
  const keys = keysFromSeed(41);
  const record = sealRecord(keys, systemRandom, { kind: RecordKind.data, flags: 2, payload: new Uint8Array(10), rawLength: 10 });
  assert.match(String(openRecordHeader(keys, record)), /reserved header bits/);
});

test("paddedLength: minimum 32 for inputs 0..32", () => {
  for (let n = 0; n <= 32; n++) assert.equal(paddedLength(n), 32, `paddedLength(${n})`);
});

test("paddedLength: monotonic, >= input and overhead <= 12% for inputs >= 1024 (exhaustive to 2^18)", () => {
  let previous = paddedLength(0);
  for (let n = 0; n <= 1 << 18; n++) {
    const p = paddedLength(n);
    assert.ok(p >= n, `paddedLength(${n}) = ${p} < input`);
    assert.ok(p >= previous, `paddedLength(${n}) = ${p} < paddedLength(${n - 1}) = ${previous}`);
    assert.ok(Number.isInteger(p));
    if (n >= 1024) assert.ok(p - n <= 0.12 * n, `paddedLength(${n}) = ${p}: overhead ${((p - n) / n) * 100}%`);
    previous = p;
  }
});

test("paddedLength: monotonic, >= input, overhead <= 12% and <= body maximum over the whole record range (property)", (t) => {
  t.diagnostic(SEED_NOTE);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: RECORD_BODY_SIZE_MAX_BYTES }), fc.integer({ min: 0, max: RECORD_BODY_SIZE_MAX_BYTES }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      const pLo = paddedLength(lo);
      const pHi = paddedLength(hi);
      assert.ok(pLo <= pHi, `paddedLength(${lo}) = ${pLo} > paddedLength(${hi}) = ${pHi}`);
      for (const [n, p] of [[lo, pLo], [hi, pHi]] as const) {
        assert.ok(p >= n && p >= 32);
        assert.ok(p <= RECORD_BODY_SIZE_MAX_BYTES, `paddedLength(${n}) = ${p} exceeds the body maximum`);
        if (n >= 1024) assert.ok(p - n <= 0.12 * n, `paddedLength(${n}) = ${p}`);
      }
    }),
    { seed: FC_SEED, numRuns: 2000 },
  );
  // Around every power of two, where the exponent changes.
  for (let e = 5; e <= 26; e++) {
    for (const n of [2 ** e - 1, 2 ** e, 2 ** e + 1]) {
      if (n > RECORD_BODY_SIZE_MAX_BYTES) continue;
      const p = paddedLength(n);
      assert.ok(p >= n && p >= paddedLength(n - 1));
      if (n >= 1024) assert.ok(p - n <= 0.12 * n);
    }
  }
});

test("sealRecord: no 16-byte window of the plaintext payload or the id appears in the sealed bytes", (t) => {
  t.diagnostic(SEED_NOTE);
  const text = Buffer.from("suede plaintext window test: the quick brown fox jumps over the lazy dog. ", "ascii");
  fc.assert(
    fc.property(
      fc.integer({ min: 16, max: 20_000 }),
      fc.constantFrom("random", "text", "zeros"),
      fc.integer(),
      (length, shape, seed) => {
        let payload: Uint8Array;
        if (shape === "random") payload = pseudoRandomBytes(seed, length);
        else if (shape === "zeros") payload = new Uint8Array(length);
        else {
          payload = new Uint8Array(length);
          for (let i = 0; i < length; i++) payload[i] = text[i % text.byteLength]!;
        }
        const id = pseudoRandomBytes(seed ^ 0x5a5a, 32);
        const keys = keysFromSeed(seed);
        const sealed = Buffer.from(sealRecord(keys, systemRandom, { kind: RecordKind.data, id, flags: 0, payload, rawLength: length }));
        const windows = new Set<string>();
        for (let i = 0; i + 16 <= sealed.byteLength; i++) windows.add(sealed.toString("latin1", i, i + 16));
        const plain = Buffer.from(payload);
        const seen = new Set<string>(); // repetitive shapes have few distinct windows
        for (let i = 0; i + 16 <= plain.byteLength; i++) {
          const w = plain.toString("latin1", i, i + 16);
          if (seen.has(w)) continue;
          seen.add(w);
          assert.ok(!windows.has(w), `plaintext window at ${i} appears in the sealed record`);
        }
        for (let i = 0; i + 16 <= 32; i++) assert.ok(!windows.has(Buffer.from(id).toString("latin1", i, i + 16)), "blob id visible in the record");
        assert.ok(!windows.has(Buffer.from(keys.vaultId).toString("latin1")), "vault id visible in the record");
      },
    ),
    { seed: FC_SEED, numRuns: 60 },
  );
});
