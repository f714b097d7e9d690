// Goal: a run opened into one buffer (what the record-opening workers hand back) gives each blob
// exactly its own bytes, and a damaged record in the run is refused with the words openBlob uses
// while its neighbours still open. Method: seal compressible, incompressible, tiny and empty blobs
// into one run, damage one, open the run and compare with the blobs and with openBlob.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { lineText as text } from "../../test/helpers/prng.ts";
import { systemRandom } from "../util/random.ts";
import { Codec } from "./compress.ts";
import { RecordKind } from "./format.ts";
import { BLOB_ID_SIZE_BYTES, type RecordSlot, openBlob, openBlobRun } from "./open-record.ts";
import { sealBlob } from "./seal.ts";

const keys = { vaultId: randomBytes(16), recordBase: randomBytes(32) };

/** The blobs sealed back to back into one run buffer, with their slots and IDs. */
function sealRun(blobs: readonly Uint8Array[]) {
  const codec = new Codec(3);
  const ids = new Uint8Array(blobs.length * BLOB_ID_SIZE_BYTES);
  const records = blobs.map((raw, i) => {
    const id = randomBytes(BLOB_ID_SIZE_BYTES);
    ids.set(id, i * BLOB_ID_SIZE_BYTES);
    return Buffer.from(sealBlob(keys, systemRandom, codec, RecordKind.data, id, raw).record);
  });
  const slots: RecordSlot[] = [];
  let at = 0;
  for (const record of records) {
    slots.push({ at, length: record.byteLength, kind: RecordKind.data, fd: -1, position: 0 });
    at += record.byteLength;
  }
  return { bytes: Buffer.concat(records), slots, ids };
}

test("openBlobRun: every blob of a run opens to its own bytes, all views of one buffer", () => {
  const blobs = [text(300_000, 1), randomBytes(70_000), text(5_000, 2), randomBytes(63), new Uint8Array(0), text(1 << 20, 3)];
  const { bytes, slots, ids } = sealRun(blobs);
  const results = openBlobRun(keys, new Codec(), bytes, slots, ids);
  assert.equal(results.length, blobs.length);
  results.forEach((result, i) => {
    assert.ok(result instanceof Uint8Array, `blob ${i}: ${JSON.stringify(result)}`);
    assert.ok(Buffer.from(result).equals(blobs[i]!), `blob ${i} opened to other bytes`);
  });
  const buffers = new Set(results.map((result) => (result as Uint8Array).buffer));
  assert.equal(buffers.size, 1, "one buffer to transfer");
});

test("openBlobRun: a damaged record is refused as openBlob refuses it; its neighbours open", () => {
  const blobs = [text(40_000, 4), text(50_000, 5), randomBytes(30_000)];
  const { bytes, slots, ids } = sealRun(blobs);
  bytes[slots[1]!.at + slots[1]!.length - 20]! ^= 0x01;
  const results = openBlobRun(keys, new Codec(), bytes, slots, ids);
  const alone = openBlob(keys, new Codec(), bytes.subarray(slots[1]!.at, slots[1]!.at + slots[1]!.length), ids.subarray(32, 64), RecordKind.data);
  assert.ok(!(alone instanceof Uint8Array));
  assert.deepEqual(results[1], alone);
  assert.ok(Buffer.from(results[0] as Uint8Array).equals(blobs[0]!));
  assert.ok(Buffer.from(results[2] as Uint8Array).equals(blobs[2]!));
});

test("openBlobRun: a record that is not the blob the index names is refused", () => {
  const blobs = [text(10_000, 6), text(20_000, 7)];
  const { bytes, slots, ids } = sealRun(blobs);
  ids.copyWithin(0, 32, 64); // slot 0 now expects slot 1's ID
  const results = openBlobRun(keys, new Codec(), bytes, slots, ids);
  assert.match((results[0] as { problem: string }).problem, /different blob/);
  assert.ok(Buffer.from(results[1] as Uint8Array).equals(blobs[1]!));
});

test("openBlobRun: slots with a target fd are written there at their positions; a damaged one writes nothing", () => {
  const blobs = [text(200_000, 8), randomBytes(90_000), text(30_000, 9), text(1 << 20, 10)];
  const { bytes, slots, ids } = sealRun(blobs);
  bytes[slots[2]!.at + slots[2]!.length - 20]! ^= 0x01;
  const dir = mkdtempSync(join(tmpdir(), "suede-open-record-"));
  try {
    const path = join(dir, "target");
    const fd = openSync(path, "w+");
    // Blobs 0, 2 and 3 go to the file (in reverse order, after a gap for the damaged one); 1 comes back.
    const positions = [blobs[3]!.byteLength + blobs[2]!.byteLength, -1, blobs[3]!.byteLength, 0];
    const direct = slots.map((slot, i) => ({ ...slot, fd: positions[i]! < 0 ? -1 : fd, position: Math.max(0, positions[i]!) }));
    let results;
    try {
      results = openBlobRun(keys, new Codec(), bytes, direct, ids);
    } finally {
      closeSync(fd);
    }
    assert.deepEqual(results[0], { written: blobs[0]!.byteLength });
    assert.ok(Buffer.from(results[1] as Uint8Array).equals(blobs[1]!));
    assert.match((results[2] as { problem: string }).problem, /authentic|tag|damaged|decrypt/i);
    assert.deepEqual(results[3], { written: blobs[3]!.byteLength });
    const written = readFileSync(path);
    const gap = Buffer.alloc(blobs[2]!.byteLength);
    assert.ok(written.equals(Buffer.concat([blobs[3]!, gap, blobs[0]!])), "exact bytes at their positions, zeros where the damaged blob was");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("openBlobRun: a failed write is reported with its OS error code", () => {
  const { bytes, slots, ids } = sealRun([text(10_000, 11)]);
  const dir = mkdtempSync(join(tmpdir(), "suede-open-record-"));
  try {
    const fd = openSync(join(dir, "readonly"), "w+");
    closeSync(fd);
    const readOnly = openSync(join(dir, "readonly"), "r");
    try {
      const results = openBlobRun(keys, new Codec(), bytes, [{ ...slots[0]!, fd: readOnly, position: 0 }], ids);
      assert.equal((results[0] as { writeError: string }).writeError, "EBADF");
    } finally {
      closeSync(readOnly);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
