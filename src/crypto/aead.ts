/** AES-256-GCM with a detached 16-byte tag (node:crypto, AES-NI). FORMAT.md §4. */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { assert } from "../util/assert.ts";

export const AEAD_TAG_SIZE_BYTES = 16;
export const AEAD_NONCE_SIZE_BYTES = 12;

export class AeadAuthError extends Error {
  override name = "AeadAuthError";
}

/** Never written: the zero bytes that pad a plaintext (grown on demand). */
let zeroPad = new Uint8Array(0);
/**
 * A small padded plaintext is copied here with its zeros and encrypted in one update: a second
 * update call costs more (~1 µs) than copying a few KiB, and small files seal one record each.
 */
const SMALL_PADDED_BYTES = 16 * 1024;
const smallPadded = new Uint8Array(SMALL_PADDED_BYTES);

/**
 * Encrypts plaintext followed by zeroPadding zero bytes into `out` at `outOffset`, then writes the
 * tag right after the ciphertext. A large plaintext is not copied into a padded buffer: its zeros
 * are a second update.
 */
export function sealInto(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  out: Uint8Array,
  outOffset: number,
  zeroPadding = 0,
): number {
  assert(nonce.byteLength === AEAD_NONCE_SIZE_BYTES, "nonce must be 12 bytes");
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad);
  let at = outOffset;
  if (zeroPadding > 0 && plaintext.byteLength + zeroPadding <= SMALL_PADDED_BYTES) {
    smallPadded.set(plaintext, 0);
    smallPadded.fill(0, plaintext.byteLength, plaintext.byteLength + zeroPadding);
    plaintext = smallPadded.subarray(0, plaintext.byteLength + zeroPadding);
    zeroPadding = 0;
  }
  const body = cipher.update(plaintext);
  out.set(body, at);
  at += body.byteLength;
  if (zeroPadding > 0) {
    if (zeroPad.byteLength < zeroPadding) zeroPad = new Uint8Array(Math.max(zeroPadding, 64 * 1024));
    const padding = cipher.update(zeroPad.subarray(0, zeroPadding));
    out.set(padding, at);
    at += padding.byteLength;
  }
  const rest = cipher.final();
  out.set(rest, at);
  at += rest.byteLength;
  out.set(cipher.getAuthTag(), at);
  return at + AEAD_TAG_SIZE_BYTES - outOffset;
}

export function seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.byteLength + AEAD_TAG_SIZE_BYTES);
  sealInto(key, nonce, aad, plaintext, out, 0);
  return out;
}

/** Decrypts `sealed` (ciphertext ‖ tag); AeadAuthError when the tag does not verify. */
export function open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer {
  if (sealed.byteLength < AEAD_TAG_SIZE_BYTES) throw new AeadAuthError("ciphertext shorter than its tag");
  const split = sealed.byteLength - AEAD_TAG_SIZE_BYTES;
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(split));
  const body = decipher.update(sealed.subarray(0, split));
  try {
    const rest = decipher.final();
    return rest.byteLength === 0 ? body : Buffer.concat([body, rest]);
  } catch (cause) {
    throw new AeadAuthError("authentication failed", { cause });
  }
}
