// Goal: small files sealed into the worker's packer reach the main thread intact: every record opens to
// its file's bytes under its ID, holes stay holes, sizes and nanosecond times survive, a file that
// failed half-way leaves no trace, and records sealed before the scratch buffer grew stay valid.
// Method: seal real records (sealBlobInto) for files of 0 B – 200 KiB, unpack, open each record.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { systemRandom } from "../util/random.ts";
import { Codec } from "../vault/compress.ts";
import { RecordKind, RECORD_PREFIX_SIZE_BYTES } from "../vault/format.ts";
import { openRecordBody, openRecordHeader } from "../vault/record.ts";
import { sealBlobInto } from "../vault/seal.ts";
import { unpackWholes, WholePacker } from "./whole-codec.ts";

const keys = { vaultId: randomBytes(16), recordBase: randomBytes(32) };
const codec = new Codec();

function opened(record: Uint8Array): { id: Uint8Array; raw: Uint8Array } {
  const header = openRecordHeader(keys, record.subarray(0, RECORD_PREFIX_SIZE_BYTES));
  assert.ok(typeof header !== "string", String(header));
  const body = openRecordBody(keys, header, record.subarray(RECORD_PREFIX_SIZE_BYTES));
  assert.ok(typeof body !== "string", String(body));
  return { id: header.header.id, raw: codec.decompress(header.header.flags, body, header.header.rawLength) };
}

test("packed small files unpack to records that open to their bytes", () => {
  const packer = new WholePacker();
  assert.equal(packer.take(), null);
  const files: { fileId: number; pieces: (Uint8Array | null)[]; mtimeNs: bigint }[] = [];
  // Enough bytes to grow the 64 KiB scratch buffer several times; text compresses, random does not.
  for (let f = 0; f < 40; f++) {
    const sizes = f % 7 === 0 ? [] : f % 5 === 0 ? [20_000, 9_000, 31_000] : [1 + ((f * 4099) % 200_000)];
    const pieces = sizes.map((size, i) => (f % 3 === 0 && i === 1 ? null : f % 2 === 0 ? randomBytes(size) : Buffer.alloc(size, `file ${f} `)));
    for (const piece of pieces) {
      if (piece === null) packer.addHole(9_000);
      else packer.addSealed(Uint8Array.of(f, ...new Uint8Array(31)), piece.byteLength, sealBlobInto(keys, systemRandom, codec, RecordKind.data, Uint8Array.of(f, ...new Uint8Array(31)), piece, packer.room));
    }
    const mtimeNs = f === 3 ? -1_000_000_001n : 1_700_000_000_123_456_789n + BigInt(f);
    packer.addFile(1000 + f, pieces.length, sizes.reduce((a, b) => a + b, 0), mtimeNs, mtimeNs + 1n);
    files.push({ fileId: 1000 + f, pieces, mtimeNs });
    if (f === 10) {
      // A file whose sealing failed half-way is rewound: the next file starts where it began.
      const mark = packer.mark();
      sealBlobInto(keys, systemRandom, codec, RecordKind.data, new Uint8Array(32), randomBytes(5000), packer.room);
      packer.addSealed(new Uint8Array(32), 5000, 5200);
      packer.rewind(mark);
    }
  }
  const taken = packer.take();
  assert.ok(taken !== null);
  assert.equal(taken.transfer.length, 2);
  // The nodes keep the IDs: they must not be views of the buffer the records travel in.
  assert.notEqual(taken.packed.ids.buffer, taken.packed.records.buffer);
  assert.equal(packer.take(), null, "take() starts a new batch");
  const wholes = unpackWholes(taken.packed);
  assert.deepEqual(wholes.map((w) => w.fileId), files.map((f) => f.fileId));
  for (const [i, whole] of wholes.entries()) {
    const file = files[i]!;
    assert.equal(whole.mtimeNs, file.mtimeNs);
    assert.equal(whole.ctimeNs, file.mtimeNs + 1n);
    assert.equal(whole.sizeBytes, whole.chunks.reduce((sum, chunk) => sum + chunk.sizeBytes, 0));
    assert.equal(whole.chunks.length, file.pieces.length);
    for (const [c, piece] of file.pieces.entries()) {
      const sealed = whole.sealed[c]!;
      if (piece === null) {
        assert.equal(whole.chunks[c]!.id, null);
        assert.equal(sealed, null);
        continue;
      }
      assert.ok(sealed !== null);
      assert.equal(sealed.rawLength, piece.byteLength);
      assert.equal(sealed.id[0], i);
      const { id, raw } = opened(sealed.record);
      assert.ok(Buffer.from(id).equals(sealed.id), "record names its blob");
      assert.ok(Buffer.from(raw).equals(piece), `file ${i} chunk ${c} bytes`);
    }
  }
});
