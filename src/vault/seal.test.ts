// Goal: a run of blobs sealed into one buffer (sealBlobRun, the big file's block path) gives records
// that open to exactly the blobs, byte for byte, with the same sizes as sealing each alone, laid end to
// end in a buffer of exactly their size. Method: mixed text, random and tiny blobs; open each record
// as readers do and decompress it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { systemRandom } from "../util/random.ts";
import { Codec } from "./compress.ts";
import { RecordKind } from "./format.ts";
import { openRecordBody, openRecordHeader, type RecordKeys } from "./record.ts";
import { RECORD_PREFIX_SIZE_BYTES } from "./format.ts";
import { sealBlob, sealBlobRun } from "./seal.ts";

const keys: RecordKeys = { vaultId: new Uint8Array(randomBytes(16)), recordBase: new Uint8Array(randomBytes(32)) };

test("sealBlobRun: records end to end in one exact buffer, each opening to its blob", () => {
  const text = Buffer.from("the quick brown fox jumps over the lazy dog\n".repeat(2000));
  const raws = [text.subarray(0, 70_000), randomBytes(50_000), text.subarray(5, 40), Buffer.alloc(0), randomBytes(63), text.subarray(1000, 66_000)];
  const ids = raws.map(() => new Uint8Array(randomBytes(32)));
  const codec = new Codec();
  const run = sealBlobRun(keys, systemRandom, codec, RecordKind.data, ids, raws);
  assert.equal(run.records.length, raws.length);
  let at = 0;
  for (let i = 0; i < raws.length; i++) {
    const record = run.records[i]!;
    assert.equal(record.buffer, run.buffer.buffer, "a view of the run's buffer");
    assert.equal(record.byteOffset, at, "records are laid end to end");
    at += record.byteLength;
    assert.equal(record.byteLength, sealBlob(keys, systemRandom, codec, RecordKind.data, ids[i]!, raws[i]!).record.byteLength, "same size as sealed alone");
    const opened = openRecordHeader(keys, record.subarray(0, RECORD_PREFIX_SIZE_BYTES));
    assert.ok(typeof opened !== "string", String(opened));
    assert.ok(Buffer.from(opened.header.id).equals(ids[i]!), "its ID");
    assert.equal(opened.header.rawLength, raws[i]!.byteLength);
    const payload = openRecordBody(keys, opened, record.subarray(RECORD_PREFIX_SIZE_BYTES));
    assert.ok(typeof payload !== "string", String(payload));
    assert.ok(Buffer.from(codec.decompress(opened.header.flags, payload, raws[i]!.byteLength)).equals(raws[i]!), `blob ${i} round-trips`);
  }
  assert.equal(at, run.buffer.byteLength, "the buffer holds exactly the records");
  assert.equal(run.buffer.byteLength, run.buffer.buffer.byteLength, "the buffer is its own (transferable as is)");
  assert.ok(run.records[0]!.byteLength < 20_000, "text is stored compressed");
  assert.ok(run.records[1]!.byteLength > 50_000, "random bytes are stored raw");
});
