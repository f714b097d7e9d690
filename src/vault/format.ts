/** Constants of vault format version 1, named as in docs/FORMAT.md. Little-endian throughout. */
import { assert } from "../util/assert.ts";

export const FORMAT_VERSION = 1;

// §2 File layout
export const HEADER_COPY_SIZE_BYTES = 4096;
export const HEADER_COPY_OFFSETS = [0, 4096] as const;
export const SUPERBLOCK_SLOT_SIZE_BYTES = 4096;
export const SUPERBLOCK_SLOT_OFFSETS = [8192, 12288] as const;
export const LOG_START_OFFSET = 16384;

// §3 Header
export const HEADER_MAGIC = Buffer.from("SUEDEVLT", "ascii");
export const HEADER_FIXED_SIZE_BYTES = 64;
export const KEY_SLOT_COUNT = 8;
export const KEY_SLOT_SIZE_BYTES = 128;
export const HEADER_MAC_OFFSET = HEADER_FIXED_SIZE_BYTES + KEY_SLOT_COUNT * KEY_SLOT_SIZE_BYTES; // 1088
export const HEADER_CHECKSUM_OFFSET = HEADER_COPY_SIZE_BYTES - 32; // 4064
export const VAULT_ID_SIZE_BYTES = 16;
export const CIPHER_AES256GCM_RECORD_KEYS = 1;
export const ID_HASH_BLAKE3_KEYED = 1;
export const KDF_ARGON2ID = 1;
export const SLOT_KIND_PASSPHRASE = 1;
export const SLOT_KIND_KEY_FILE = 2;
export const SLOT_WRAPPED_PLAINTEXT_SIZE_BYTES = 32 + 8; // master key, created time
assert(HEADER_MAC_OFFSET + 32 <= HEADER_CHECKSUM_OFFSET, "FORMAT.md §3: slots, MAC and checksum fit one copy");

// §5 Records
export const RECORD_SALT_SIZE_BYTES = 16;
export const RECORD_HEADER_PLAIN_SIZE_BYTES = 48;
export const RECORD_PREFIX_SIZE_BYTES = RECORD_SALT_SIZE_BYTES + RECORD_HEADER_PLAIN_SIZE_BYTES + 16; // 80
export const RECORD_OVERHEAD_BYTES = RECORD_PREFIX_SIZE_BYTES + 16; // 96
export const RECORD_BODY_SIZE_MAX_BYTES = 64 * 1024 * 1024;
assert(RECORD_OVERHEAD_BYTES === 96, "FORMAT.md §5 says 96");

export const RecordKind = {
  data: 1,
  tree: 2,
  snapshot: 3,
  index: 4,
  checkpoint: 5,
  superblock: 6,
  /** Fills space the cleaner freed, so the log stays a run of whole records (FORMAT.md §9.4). */
  padding: 7,
} as const;
export type RecordKindName = keyof typeof RecordKind;
export type RecordKindCode = (typeof RecordKind)[RecordKindName];

export const RECORD_FLAG_ZSTD = 1;

// §6 Superblock
export const SUPERBLOCK_BODY_SIZE_BYTES = 32;

// §7 Index
export const INDEX_ENTRY_SIZE_BYTES = 32 + 8 + 4 + 4 + 4; // id, offset, record length, raw length, kind
export const INDEX_ENTRIES_PER_RECORD_MAX = 65536;
assert(INDEX_ENTRY_SIZE_BYTES * INDEX_ENTRIES_PER_RECORD_MAX <= RECORD_BODY_SIZE_MAX_BYTES);
/** When delta index records exceed this many beyond a merged index's own, the commit writes a merged index. */
export const INDEX_RECORDS_MERGE_THRESHOLD = 64;
