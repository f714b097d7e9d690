/** Blob IDs: 32-byte keyed BLAKE3 of the plaintext (FORMAT.md §13). */
import { toHex } from "../util/bytes.ts";

export const BLOB_ID_SIZE_BYTES = 32;

export type BlobId = Uint8Array;

/** The ID that marks a run of zero bytes in a file's chunk list: never stored, restored as a hole. */
export const HOLE_ID: BlobId = new Uint8Array(BLOB_ID_SIZE_BYTES);

export function blobIdHex(id: BlobId): string {
  return toHex(id);
}

export function isHoleId(id: BlobId): boolean {
  for (let i = 0; i < id.byteLength; i++) if (id[i] !== 0) return false;
  return true;
}
