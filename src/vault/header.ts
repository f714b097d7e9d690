/**
 * The vault header (FORMAT.md §3): public parameters and eight key slots, stored twice. A copy is
 * trusted only when magic, checksum, copy index and self offset agree; the newer sequence wins. After
 * unlocking, the header MAC (keyed from the master key) proves nobody changed the parameters.
 */
import { AeadAuthError, open, seal } from "../crypto/aead.ts";
import { type KdfParams, kdfParamsProblem } from "../crypto/kdf.ts";
import { hmacSha256, sha256 } from "../crypto/keys.ts";
import { ByteReader, ByteWriter, ShortReadError, bytesEqual } from "../util/bytes.ts";
import {
  CIPHER_AES256GCM_RECORD_KEYS,
  FORMAT_VERSION,
  HEADER_CHECKSUM_OFFSET,
  HEADER_COPY_OFFSETS,
  HEADER_COPY_SIZE_BYTES,
  HEADER_FIXED_SIZE_BYTES,
  HEADER_MAC_OFFSET,
  HEADER_MAGIC,
  ID_HASH_BLAKE3_KEYED,
  KDF_ARGON2ID,
  KEY_SLOT_COUNT,
  KEY_SLOT_SIZE_BYTES,
  SLOT_KIND_KEY_FILE,
  SLOT_KIND_PASSPHRASE,
  SLOT_WRAPPED_PLAINTEXT_SIZE_BYTES,
  VAULT_ID_SIZE_BYTES,
} from "./format.ts";

export type SlotKind = "passphrase" | "key-file";

export interface KeySlot {
  readonly kind: SlotKind;
  readonly kdf: KdfParams;
  readonly salt: Uint8Array;
  readonly nonce: Uint8Array;
  /** AES-256-GCM of master key ‖ created time (ms, u64), under the KDF output. */
  readonly wrapped: Uint8Array;
  /** Created time (ms, u64 LE) XOR the first 8 bytes of HMAC(header-mac key, "slot-created" ‖ salt): readable by any key holder, hidden from others. */
  readonly createdMasked: Uint8Array;
}

export interface VaultHeader {
  readonly formatVersion: number;
  readonly sequence: number;
  readonly vaultId: Uint8Array;
  readonly slots: readonly (KeySlot | null)[];
  readonly mac: Uint8Array;
}

export type HeaderProblem =
  | { readonly kind: "not-a-vault" }
  | { readonly kind: "unsupported-version"; readonly version: number }
  | { readonly kind: "damaged"; readonly detail: string };

const SLOT_PREFIX_SIZE_BYTES = 48;

function encodeSlot(writer: ByteWriter, slot: KeySlot | null): void {
  if (slot === null) {
    writer.zeros(KEY_SLOT_SIZE_BYTES);
    return;
  }
  encodeSlotPrefix(writer, slot);
  writer
    .raw(slot.nonce)
    .raw(slot.wrapped)
    .raw(slot.createdMasked)
    .zeros(KEY_SLOT_SIZE_BYTES - 124);
}

/** Bytes that the header MAC covers: everything before the MAC, with the per-copy fields zeroed. */
function macInput(copy: Uint8Array): Uint8Array {
  const input = Uint8Array.from(copy.subarray(0, HEADER_MAC_OFFSET));
  input[10] = 0;
  input.fill(0, 16, 24);
  return input;
}

export function encodeHeaderCopy(header: VaultHeader, copyIndex: 0 | 1): Uint8Array {
  const writer = new ByteWriter(HEADER_COPY_SIZE_BYTES);
  writer
    .raw(HEADER_MAGIC)
    .u16(header.formatVersion)
    .u8(copyIndex)
    .u8(0)
    .u32(0)
    .u64(HEADER_COPY_OFFSETS[copyIndex])
    .u64(header.sequence)
    .raw(header.vaultId)
    .u8(CIPHER_AES256GCM_RECORD_KEYS)
    .u8(ID_HASH_BLAKE3_KEYED)
    .u8(1)
    .u8(KEY_SLOT_COUNT)
    .zeros(12);
  for (let i = 0; i < KEY_SLOT_COUNT; i++) encodeSlot(writer, header.slots[i] ?? null);
  writer.raw(header.mac);
  const bytes = writer.finish(true);
  bytes.set(sha256(bytes.subarray(0, HEADER_CHECKSUM_OFFSET)), HEADER_CHECKSUM_OFFSET);
  return bytes;
}

export function headerMac(headerMacKey: Uint8Array, header: VaultHeader): Uint8Array {
  const copy = encodeHeaderCopy({ ...header, mac: new Uint8Array(32) }, 0);
  return hmacSha256(headerMacKey, macInput(copy));
}

function decodeSlot(reader: ByteReader): KeySlot | null | string {
  const state = reader.u8();
  if (state === 0) {
    if (reader.bytesView(KEY_SLOT_SIZE_BYTES - 1).some((b) => b !== 0)) return "empty key slot is not all zero";
    return null;
  }
  if (state !== 1) return `key slot state ${state} is invalid`;
  const kindCode = reader.u8();
  const kdfCode = reader.u8();
  const reservedByte = reader.u8();
  const kdf: KdfParams = { iterations: reader.u32(), memoryKiB: reader.u32(), parallelism: reader.u32() };
  const salt = Uint8Array.from(reader.bytesView(32));
  const nonce = Uint8Array.from(reader.bytesView(12));
  const wrapped = Uint8Array.from(reader.bytesView(SLOT_WRAPPED_PLAINTEXT_SIZE_BYTES + 16));
  const createdMasked = Uint8Array.from(reader.bytesView(8));
  const reservedTail = reader.bytesView(KEY_SLOT_SIZE_BYTES - 124);
  if (reservedByte !== 0 || reservedTail.some((b) => b !== 0)) return "key slot reserved bytes are not zero";
  if (kindCode !== SLOT_KIND_PASSPHRASE && kindCode !== SLOT_KIND_KEY_FILE) return `key slot kind ${kindCode} is invalid`;
  if (kdfCode !== KDF_ARGON2ID) return `key slot KDF ${kdfCode} is unknown`;
  const problem = kdfParamsProblem(kdf);
  if (problem !== null) return `key slot: ${problem}`;
  return { kind: kindCode === SLOT_KIND_PASSPHRASE ? "passphrase" : "key-file", kdf, salt, nonce, wrapped, createdMasked };
}

/** Decodes one copy in the order magic → checksum → version → placement → fields. */
export function decodeHeaderCopy(bytes: Uint8Array, copyIndex: 0 | 1): VaultHeader | HeaderProblem {
  try {
    return decodeHeaderCopyFields(bytes, copyIndex);
  } catch (error) {
    if (error instanceof ShortReadError) return { kind: "damaged", detail: `header copy ${copyIndex}: ${error.message}` };
    throw error;
  }
}

function decodeHeaderCopyFields(bytes: Uint8Array, copyIndex: 0 | 1): VaultHeader | HeaderProblem {
  if (bytes.byteLength < HEADER_COPY_SIZE_BYTES) return { kind: "not-a-vault" };
  if (!bytesEqual(bytes.subarray(0, 8), HEADER_MAGIC)) return { kind: "not-a-vault" };
  const checksum = sha256(bytes.subarray(0, HEADER_CHECKSUM_OFFSET));
  if (!bytesEqual(checksum, bytes.subarray(HEADER_CHECKSUM_OFFSET, HEADER_COPY_SIZE_BYTES))) {
    return { kind: "damaged", detail: `header copy ${copyIndex} checksum mismatch` };
  }
  const reader = new ByteReader(bytes);
  reader.skip(8);
  const formatVersion = reader.u16();
  if (formatVersion !== FORMAT_VERSION) return { kind: "unsupported-version", version: formatVersion };
  const storedCopyIndex = reader.u8();
  const reserved = reader.bytesView(5);
  const selfOffset = reader.u64();
  if (storedCopyIndex !== copyIndex || selfOffset !== HEADER_COPY_OFFSETS[copyIndex]) {
    return { kind: "damaged", detail: `header copy ${copyIndex} is misplaced` };
  }
  const sequence = reader.u64();
  const vaultId = Uint8Array.from(reader.bytesView(VAULT_ID_SIZE_BYTES));
  const cipher = reader.u8();
  const idHash = reader.u8();
  const compression = reader.u8();
  const slotCount = reader.u8();
  const reserved2 = reader.bytesView(12);
  if (reserved.some((b) => b !== 0) || reserved2.some((b) => b !== 0)) {
    return { kind: "damaged", detail: `header copy ${copyIndex} has non-zero reserved bytes` };
  }
  if (cipher !== CIPHER_AES256GCM_RECORD_KEYS || idHash !== ID_HASH_BLAKE3_KEYED || compression !== 1 || slotCount !== KEY_SLOT_COUNT) {
    return { kind: "damaged", detail: `header copy ${copyIndex} names unknown algorithms` };
  }
  const slots: (KeySlot | null)[] = [];
  for (let i = 0; i < KEY_SLOT_COUNT; i++) {
    const slot = decodeSlot(reader);
    if (typeof slot === "string") return { kind: "damaged", detail: `header copy ${copyIndex}: ${slot}` };
    slots.push(slot);
  }
  const mac = Uint8Array.from(reader.bytesView(32));
  if (reader.position !== HEADER_FIXED_SIZE_BYTES + KEY_SLOT_COUNT * KEY_SLOT_SIZE_BYTES + 32) {
    return { kind: "damaged", detail: "header layout" };
  }
  for (let i = reader.position; i < HEADER_CHECKSUM_OFFSET; i++) {
    if (bytes[i] !== 0) return { kind: "damaged", detail: `header copy ${copyIndex} has non-zero padding` };
  }
  return { formatVersion, sequence, vaultId, slots, mac };
}

function slotAad(vaultId: Uint8Array, slot: KeySlot): Uint8Array {
  const writer = new ByteWriter(VAULT_ID_SIZE_BYTES + SLOT_PREFIX_SIZE_BYTES);
  writer.raw(vaultId);
  encodeSlotPrefix(writer, slot);
  return writer.finish(true);
}

function encodeSlotPrefix(writer: ByteWriter, slot: KeySlot): void {
  writer
    .u8(1)
    .u8(slot.kind === "passphrase" ? SLOT_KIND_PASSPHRASE : SLOT_KIND_KEY_FILE)
    .u8(KDF_ARGON2ID)
    .u8(0)
    .u32(slot.kdf.iterations)
    .u32(slot.kdf.memoryKiB)
    .u32(slot.kdf.parallelism)
    .raw(slot.salt);
}

export function wrapMasterKey(
  kek: Uint8Array,
  vaultId: Uint8Array,
  slot: Omit<KeySlot, "wrapped" | "createdMasked">,
  master: Uint8Array,
  createdMs: number,
  headerMacKey: Uint8Array,
): KeySlot {
  const plain = new ByteWriter(SLOT_WRAPPED_PLAINTEXT_SIZE_BYTES).raw(master).u64(createdMs).finish(true);
  const withoutWrap: KeySlot = { ...slot, wrapped: new Uint8Array(0), createdMasked: new Uint8Array(8) };
  const createdMasked = maskCreated(headerMacKey, slot.salt, new ByteWriter(8).u64(createdMs).finish(true));
  return { ...slot, wrapped: seal(kek, slot.nonce, slotAad(vaultId, withoutWrap), plain), createdMasked };
}

function maskCreated(headerMacKey: Uint8Array, salt: Uint8Array, value: Uint8Array): Uint8Array {
  const mask = hmacSha256(headerMacKey, Buffer.from("slot-created", "ascii"), salt);
  return value.map((b, i) => b ^ mask[i]!);
}

/** A slot's creation time, for any holder of the vault's keys (slots list). */
export function slotCreatedMs(headerMacKey: Uint8Array, slot: KeySlot): number | null {
  try {
    return new ByteReader(maskCreated(headerMacKey, slot.salt, slot.createdMasked)).u64();
  } catch (error) {
    if (error instanceof ShortReadError) return null; // not a time this vault wrote
    throw error;
  }
}

/** The master key and slot creation time, or null when this KEK does not open the slot. */
export function unwrapMasterKey(
  kek: Uint8Array,
  vaultId: Uint8Array,
  slot: KeySlot,
): { master: Uint8Array; createdMs: number } | null {
  try {
    const plain = open(kek, slot.nonce, slotAad(vaultId, slot), slot.wrapped);
    const reader = new ByteReader(plain);
    const master = Uint8Array.from(reader.bytesView(32));
    return { master, createdMs: reader.u64() };
  } catch (error) {
    if (error instanceof AeadAuthError) return null;
    throw error;
  }
}
