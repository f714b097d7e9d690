/** Blob IDs: keyed BLAKE3-256 of the plaintext, so IDs reveal nothing about content without the key. */
import { Blake3Hasher } from "@napi-rs/blake-hash";
import { assert } from "../util/assert.ts";

export type BlobIdHasher = (plaintext: Uint8Array) => Uint8Array;

export function blobIdHasher(key: Uint8Array): BlobIdHasher {
  assert(key.byteLength === 32, "blob-id key must be 32 bytes");
  const keyBuffer = Buffer.from(key);
  return (plaintext) => {
    const hasher = Blake3Hasher.newKeyed(keyBuffer);
    hasher.update(Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength));
    return new Uint8Array(hasher.digestBuffer());
  };
}
