/**
 * Record framing and encryption. FORMAT.md §5: salt(16) ‖ sealed header(48+16) ‖ sealed body(L+16).
 * Every byte of a record looks random: lengths, kinds and IDs are inside the encryption, and the
 * body is padded (Padmé) so its length says little about the content.
 */
import { AEAD_TAG_SIZE_BYTES, open, sealInto } from "../crypto/aead.ts";
import { recordKey } from "../crypto/keys.ts";
import { assert } from "../util/assert.ts";
import { ByteReader } from "../util/bytes.ts";
import type { Random } from "../util/random.ts";
import {
  RECORD_BODY_SIZE_MAX_BYTES,
  RECORD_HEADER_PLAIN_SIZE_BYTES,
  RECORD_OVERHEAD_BYTES,
  RECORD_PREFIX_SIZE_BYTES,
  RECORD_SALT_SIZE_BYTES,
  RecordKind,
  type RecordKindCode,
} from "./format.ts";

export interface RecordKeys {
  readonly vaultId: Uint8Array;
  readonly recordBase: Uint8Array;
}

export interface RecordHeader {
  readonly kind: RecordKindCode;
  readonly flags: number;
  readonly storedLength: number;
  readonly paddedLength: number;
  readonly rawLength: number;
  readonly id: Uint8Array;
}

const NONCE_HEADER = new Uint8Array(12);
const NONCE_BODY = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const AAD_HEADER_TAG = Buffer.from("SUEDE-RH", "ascii");
const AAD_BODY_TAG = Buffer.from("SUEDE-RB", "ascii");
const ZERO_ID = new Uint8Array(32);
const KIND_CODES = new Set<number>(Object.values(RecordKind));

/** Padmé (Nikitin et al., PURBs 2019): at most 12% overhead, leaks O(log log L) bits of length. */
export function paddedLength(storedLength: number): number {
  return paddedLength_(storedLength);
}

function paddedLength_(storedLength: number): number {
  if (storedLength <= 32) return 32;
  const e = Math.floor(Math.log2(storedLength));
  const s = Math.floor(Math.log2(e)) + 1;
  const lastBits = e - s;
  const mask = 2 ** lastBits - 1;
  return Math.ceil(storedLength / (mask + 1)) * (mask + 1);
}

export function recordSizeBytes(paddedBodyLength: number): number {
  return RECORD_OVERHEAD_BYTES + paddedBodyLength;
}

/** Per vault ID: the same for every record, and built once instead of once per record. */
const headerAads = new WeakMap<Uint8Array, Uint8Array>();

function headerAad(keys: RecordKeys): Uint8Array {
  let aad = headerAads.get(keys.vaultId);
  if (aad === undefined) {
    aad = Buffer.concat([keys.vaultId, AAD_HEADER_TAG]);
    headerAads.set(keys.vaultId, aad);
  }
  return aad;
}

/** Opening's body AAD, rebuilt in place per record: setAAD copies it, so no buffer per record is kept (issue 5). */
let openAadScratch = new Uint8Array(0);

function bodyAad(keys: RecordKeys, headerPlain: Uint8Array): Uint8Array {
  const aadBytes = keys.vaultId.byteLength + AAD_BODY_TAG.byteLength + headerPlain.byteLength;
  if (openAadScratch.byteLength !== aadBytes) openAadScratch = new Uint8Array(aadBytes);
  openAadScratch.set(keys.vaultId, 0);
  openAadScratch.set(AAD_BODY_TAG, keys.vaultId.byteLength);
  openAadScratch.set(headerPlain, keys.vaultId.byteLength + AAD_BODY_TAG.byteLength);
  return openAadScratch;
}

export function encodeRecordHeader(header: RecordHeader): Uint8Array {
  const plain = new Uint8Array(RECORD_HEADER_PLAIN_SIZE_BYTES);
  writeRecordHeader(plain, header);
  return plain;
}

/** Writes the 48-byte plain header (little-endian, FORMAT.md §5) at the start of `out`. */
function writeRecordHeader(out: Uint8Array, header: RecordHeader): void {
  assert(header.id.byteLength === 32, "record id must be 32 bytes");
  const view = new DataView(out.buffer, out.byteOffset, RECORD_HEADER_PLAIN_SIZE_BYTES);
  view.setUint8(0, header.kind);
  view.setUint8(1, header.flags);
  view.setUint16(2, 0, true);
  view.setUint32(4, header.storedLength, true);
  view.setUint32(8, header.paddedLength, true);
  view.setUint32(12, header.rawLength, true);
  out.set(header.id, 16);
}

/** Parses a decrypted header in the fixed order of STYLE §3; returns a problem string when invalid. */
export function decodeRecordHeader(plain: Uint8Array): RecordHeader | string {
  const reader = new ByteReader(plain);
  const kind = reader.u8();
  const flags = reader.u8();
  const reserved = reader.u16();
  const storedLength = reader.u32();
  const paddedLength = reader.u32();
  const rawLength = reader.u32();
  const id = reader.bytesView(32);
  if (!KIND_CODES.has(kind)) return `unknown record kind ${kind}`;
  if (reserved !== 0 || (flags & ~1) !== 0) return "reserved header bits set";
  if (paddedLength > RECORD_BODY_SIZE_MAX_BYTES) return `body length ${paddedLength} over the maximum`;
  if (storedLength > paddedLength) return "stored length exceeds padded length";
  if (kind === RecordKind.padding ? storedLength !== 0 : paddedLength !== paddedLength_(storedLength)) {
    return "padded length is not the Padmé length of the stored length";
  }
  if (rawLength > RECORD_BODY_SIZE_MAX_BYTES) return `raw length ${rawLength} over the maximum`;
  return { kind: kind as RecordKindCode, flags, storedLength, paddedLength, rawLength, id };
}

export interface SealInput {
  readonly kind: RecordKindCode;
  readonly id?: Uint8Array;
  readonly flags: number;
  readonly payload: Uint8Array;
  readonly rawLength: number;
}

/** A padding record of exactly sizeBytes (at least the 96-byte overhead): an empty, authenticated body. */
export function sealPadding(keys: RecordKeys, random: Random, sizeBytes: number): Uint8Array {
  assert(sizeBytes >= RECORD_OVERHEAD_BYTES && sizeBytes - RECORD_OVERHEAD_BYTES <= RECORD_BODY_SIZE_MAX_BYTES, "padding size out of range");
  return sealWithPadding(keys, random, { kind: RecordKind.padding, flags: 0, payload: new Uint8Array(0), rawLength: 0 }, sizeBytes - RECORD_OVERHEAD_BYTES);
}

/** Builds one complete record in a single buffer (one copy of the payload, no Buffer.concat). */
export function sealRecord(keys: RecordKeys, random: Random, input: SealInput): Uint8Array {
  return sealWithPadding(keys, random, input, paddedLength(input.payload.byteLength));
}

/** Size of the record sealRecord makes of a payload of this many bytes. */
export function sealedRecordSizeBytes(payloadBytes: number): number {
  return recordSizeBytes(paddedLength(payloadBytes));
}

/**
 * sealRecord into `out` at `offset` (sealedRecordSizeBytes of room): many small records share
 * one buffer instead of one allocation each. Returns the record's size.
 */
export function sealRecordInto(keys: RecordKeys, random: Random, input: SealInput, out: Uint8Array, offset: number): number {
  const padded = paddedLength(input.payload.byteLength);
  sealWithPaddingInto(keys, random, input, padded, out, offset);
  return recordSizeBytes(padded);
}

function sealWithPadding(keys: RecordKeys, random: Random, input: SealInput, padded: number): Uint8Array {
  // Every byte is written; unpooled, so a worker can transfer the record's buffer.
  const out = new Uint8Array(Buffer.allocUnsafeSlow(recordSizeBytes(padded)).buffer);
  sealWithPaddingInto(keys, random, input, padded, out, 0);
  return out;
}

let bodyAadScratch = new Uint8Array(0);

function sealWithPaddingInto(keys: RecordKeys, random: Random, input: SealInput, padded: number, out: Uint8Array, offset: number): void {
  assert(input.payload.byteLength <= RECORD_BODY_SIZE_MAX_BYTES, "record payload over the maximum");
  const header: RecordHeader = {
    kind: input.kind,
    flags: input.flags,
    storedLength: input.payload.byteLength,
    paddedLength: padded,
    rawLength: input.rawLength,
    id: input.id ?? ZERO_ID,
  };
  // The body's AAD ends with the plain header: written there once, it serves as both. One scratch
  // buffer serves every record (sealing is synchronous; small files seal one record each).
  const aadBytes = keys.vaultId.byteLength + AAD_BODY_TAG.byteLength + RECORD_HEADER_PLAIN_SIZE_BYTES;
  if (bodyAadScratch.byteLength !== aadBytes) bodyAadScratch = new Uint8Array(aadBytes);
  const bodyAadBytes = bodyAadScratch;
  bodyAadBytes.set(keys.vaultId, 0);
  bodyAadBytes.set(AAD_BODY_TAG, keys.vaultId.byteLength);
  const headerPlain = bodyAadBytes.subarray(keys.vaultId.byteLength + AAD_BODY_TAG.byteLength);
  writeRecordHeader(headerPlain, header);
  assert(offset + recordSizeBytes(padded) <= out.byteLength, "record does not fit its buffer");
  const salt = random.bytes(RECORD_SALT_SIZE_BYTES);
  out.set(salt, offset);
  const key = recordKey(keys.recordBase, salt);
  sealInto(key, NONCE_HEADER, headerAad(keys), headerPlain, out, offset + RECORD_SALT_SIZE_BYTES);
  sealInto(key, NONCE_BODY, bodyAadBytes, input.payload, out, offset + RECORD_PREFIX_SIZE_BYTES, padded - input.payload.byteLength);
}

export interface OpenedHeader {
  readonly header: RecordHeader;
  readonly key: Buffer;
  readonly headerPlain: Uint8Array;
}

/** Opens the 80-byte prefix of a record; returns a problem string when it does not authenticate. */
export function openRecordHeader(keys: RecordKeys, prefix: Uint8Array): OpenedHeader | string {
  if (prefix.byteLength < RECORD_PREFIX_SIZE_BYTES) return "record prefix truncated";
  const salt = prefix.subarray(0, RECORD_SALT_SIZE_BYTES);
  const key = recordKey(keys.recordBase, salt);
  let headerPlain: Uint8Array;
  try {
    headerPlain = open(key, NONCE_HEADER, headerAad(keys), prefix.subarray(RECORD_SALT_SIZE_BYTES, RECORD_PREFIX_SIZE_BYTES));
  } catch {
    return "record header fails authentication";
  }
  const header = decodeRecordHeader(headerPlain);
  if (typeof header === "string") return header;
  return { header, key, headerPlain };
}

/** Opens a record body (ciphertext ‖ tag); returns the stored payload or a problem string. */
export function openRecordBody(keys: RecordKeys, opened: OpenedHeader, sealedBody: Uint8Array): Uint8Array | string {
  if (sealedBody.byteLength !== opened.header.paddedLength + AEAD_TAG_SIZE_BYTES) return "record body truncated";
  let body: Buffer;
  try {
    body = open(opened.key, NONCE_BODY, bodyAad(keys, opened.headerPlain), sealedBody);
  } catch {
    return "record body fails authentication";
  }
  return body.subarray(0, opened.header.storedLength);
}
