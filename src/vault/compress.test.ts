// Goal: the codec reuses one output buffer, so a payload is only valid until the next call; records
// sealed one after another must still each hold their own bytes. Method: seal a sequence of blobs of
// growing, shrinking, compressible and incompressible content with one Codec, then open every record.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { lineText as text } from "../../test/helpers/prng.ts";
import { systemRandom } from "../util/random.ts";
import { Codec } from "./compress.ts";
import { RECORD_FLAG_ZSTD, RECORD_PREFIX_SIZE_BYTES, RecordKind } from "./format.ts";
import { openRecordBody, openRecordHeader } from "./record.ts";
import { sealBlob } from "./seal.ts";

const keys = { vaultId: randomBytes(16), recordBase: randomBytes(32) };

test("Codec: records sealed in sequence with one codec each open to their own bytes", () => {
  const codec = new Codec(3);
  const blobs: Uint8Array[] = [text(300_000, 1), randomBytes(200_000), text(5_000, 2), text(1 << 20, 3), randomBytes(63), text(70_000, 4), randomBytes(4096)];
  const records = blobs.map((raw) => sealBlob(keys, systemRandom, codec, RecordKind.data, new Uint8Array(32), raw));
  records.forEach(({ record, rawLength }, i) => {
    const opened = openRecordHeader(keys, record.subarray(0, RECORD_PREFIX_SIZE_BYTES));
    assert.ok(typeof opened !== "string", String(opened));
    assert.equal(rawLength, blobs[i]!.byteLength);
    const stored = openRecordBody(keys, opened, record.subarray(RECORD_PREFIX_SIZE_BYTES));
    assert.ok(typeof stored !== "string", String(stored));
    const raw = codec.decompress(opened.header.flags, stored, rawLength);
    assert.ok(Buffer.from(raw).equals(blobs[i]!), `blob ${i} restored differently`);
  });
});

test("Codec: compressible data is compressed; random data and tiny blobs are stored raw", () => {
  const codec = new Codec(3);
  const packed = codec.compress(text(100_000, 5));
  assert.equal(packed.flags, RECORD_FLAG_ZSTD);
  assert.ok(packed.payload.byteLength < 10_000, `${packed.payload.byteLength} bytes`);
  const random = randomBytes(100_000);
  const kept = codec.compress(random);
  assert.equal(kept.flags, 0);
  assert.equal(kept.payload, random);
  assert.equal(codec.compress(text(63, 6)).flags, 0);
});
