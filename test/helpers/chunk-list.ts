// Checks a file's chunk list as a FilePool reported it against the file's bytes: shared by the
// block-path tests (file-pool.test.ts) and the segmented ones (segmented-file.test.ts).
import assert from "node:assert/strict";
import type { SealedChunk } from "../../src/backup/file-worker.ts";
import { blobIdHasher } from "../../src/crypto/blob-id.ts";
import type { RecordKeys } from "../../src/vault/record.ts";
import { Codec } from "../../src/vault/compress.ts";
import { RecordKind } from "../../src/vault/format.ts";
import { openBlob } from "../../src/vault/open-record.ts";

const hex = (id: Uint8Array) => Buffer.from(id).toString("hex");

/**
 * The chunk list tiles content's first bytes: each chunk is a run of zeros (no ID), a delivered
 * record that opens to its bytes, or an ID that is its bytes' keyed hash — and, when `known` is
 * given, one the store already had (so every new chunk was delivered). Returns the bytes covered.
 */
export function assertChunkList(
  order: readonly { id: Uint8Array | null; sizeBytes: number }[],
  sealedById: ReadonlyMap<string, SealedChunk>,
  keys: { readonly recordKeys: RecordKeys; readonly blobIdKey: Uint8Array },
  content: Uint8Array,
  known?: ReadonlySet<string>,
): number {
  const codec = new Codec();
  const blobId = blobIdHasher(keys.blobIdKey);
  let at = 0;
  for (const chunk of order) {
    const piece = content.subarray(at, at + chunk.sizeBytes);
    assert.equal(piece.byteLength, chunk.sizeBytes, `chunk at ${at} inside the file`);
    const sealed = chunk.id === null ? undefined : sealedById.get(hex(chunk.id));
    if (chunk.id === null) assert.ok(piece.every((byte) => byte === 0), `hole at ${at} is zeros`);
    else if (sealed !== undefined) {
      const raw = openBlob(keys.recordKeys, codec, sealed.record, chunk.id, RecordKind.data);
      assert.ok(raw instanceof Uint8Array && Buffer.from(raw).equals(piece), `record of the chunk at ${at}`);
    } else {
      assert.ok(Buffer.from(chunk.id).equals(blobId(piece)), `ID of the chunk at ${at}`);
      if (known !== undefined) assert.ok(known.has(hex(chunk.id)), `new chunk at ${at} delivered`);
    }
    at += chunk.sizeBytes;
  }
  return at;
}
