/** Blob IDs: keyed BLAKE3-256 of the plaintext, so IDs reveal nothing about content without the key. */
import { assert } from "../util/assert.ts";
import { loadNapiAddon } from "../util/native-addon.ts";

const { Blake3Hasher } = loadNapiAddon<typeof import("@napi-rs/blake-hash")>("@napi-rs/blake-hash");

export type BlobIdHasher = (plaintext: Uint8Array) => Uint8Array;

export function blobIdHasher(key: Uint8Array): BlobIdHasher {
  assert(key.byteLength === 32, "blob-id key must be 32 bytes");
  // One hasher, reset after each digest (reset keeps the key): a new keyed hasher per chunk cost
  // 2-6 us more per call, about a third of hashing a 64 KiB chunk. Safe: calls are synchronous.
  const hasher = Blake3Hasher.newKeyed(Buffer.from(key));
  return (plaintext) => {
    hasher.update(Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength));
    // The digest as hex, decoded here: the addon's digestBuffer makes a new native-backed Buffer,
    // ~1 µs more per ID (issue 5, scripts/benchmarks/tree-seal.ts; every chunk and tree part has one).
    // The copy gives each ID its own 32-byte ArrayBuffer, as before (not a view of Buffer's pool).
    const id = new Uint8Array(Buffer.from(hasher.digest("hex"), "hex"));
    hasher.reset();
    return id;
  };
}
