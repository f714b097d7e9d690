// Goal: header copies round-trip and every kind of damage is classified (not-a-vault, unsupported version, damaged) before any KDF runs; key slots wrap and unwrap only with the right KEK. Method: encode real headers (cheap Argon2id), patch bytes with recomputed SHA-256 checksums, decode; vault-level cases through Vault.create/open on temp files.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import { KDF_MEMORY_MAX_KIB, type KdfParams, deriveKek } from "../crypto/kdf.ts";
import { deriveVaultKeys, sha256 } from "../crypto/keys.ts";
import { SuedeError, VaultCorruptError } from "../errors/errors.ts";
import { systemClock } from "../util/clock.ts";
import { systemRandom } from "../util/random.ts";
import {
  FORMAT_VERSION,
  HEADER_CHECKSUM_OFFSET,
  HEADER_COPY_OFFSETS,
  HEADER_COPY_SIZE_BYTES,
  HEADER_FIXED_SIZE_BYTES,
  HEADER_MAC_OFFSET,
  KEY_SLOT_COUNT,
  KEY_SLOT_SIZE_BYTES,
} from "./format.ts";
import {
  type KeySlot,
  type VaultHeader,
  decodeHeaderCopy,
  encodeHeaderCopy,
  headerMac,
  slotCreatedMs,
  unwrapMasterKey,
  wrapMasterKey,
} from "./header.ts";
import { readHeader } from "./recover.ts";
import { Vault } from "./vault.ts";
import { VaultFile } from "./vault-file.ts";

const CHEAP_KDF: KdfParams = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const deps = { clock: systemClock, random: systemRandom };
const SECRET = Buffer.from("correct horse battery staple", "utf8");

interface Fixture {
  readonly header: VaultHeader;
  readonly master: Uint8Array;
  readonly kek: Uint8Array;
  readonly slot: KeySlot;
  readonly createdMs: number;
}

async function makeFixture(sequence = 7): Promise<Fixture> {
  const vaultId = systemRandom.bytes(16);
  const master = systemRandom.bytes(32);
  const salt = systemRandom.bytes(32);
  const kek = await deriveKek(SECRET, salt, CHEAP_KDF);
  const createdMs = 1_700_000_000_123;
  const macKey = deriveVaultKeys(master, vaultId).headerMac;
  const slot = wrapMasterKey(kek, vaultId, { kind: "passphrase", kdf: CHEAP_KDF, salt, nonce: systemRandom.bytes(12) }, master, createdMs, macKey);
  const keyFileSalt = systemRandom.bytes(32);
  const keyFileKdf: KdfParams = { iterations: 2, memoryKiB: 128, parallelism: 2 };
  const keyFileKek = await deriveKek(Buffer.from("key file bytes"), keyFileSalt, keyFileKdf);
  const keyFileSlot = wrapMasterKey(keyFileKek, vaultId, { kind: "key-file", kdf: keyFileKdf, salt: keyFileSalt, nonce: systemRandom.bytes(12) }, master, createdMs + 1, macKey);
  const slots: (KeySlot | null)[] = Array.from({ length: KEY_SLOT_COUNT }, () => null);
  slots[0] = slot;
  slots[5] = keyFileSlot;
  const unsigned: VaultHeader = { formatVersion: FORMAT_VERSION, sequence, vaultId, slots, mac: new Uint8Array(32) };
  const header: VaultHeader = { ...unsigned, mac: new Uint8Array(headerMac(macKey, unsigned)) };
  return { header, master, kek, slot, createdMs };
}

/** A copy with some bytes changed and the checksum recomputed, so only the change is wrong. */
function patched(copy: Uint8Array, patch: (bytes: Uint8Array, view: DataView) => void): Uint8Array {
  const bytes = Uint8Array.from(copy);
  patch(bytes, new DataView(bytes.buffer));
  bytes.set(sha256(bytes.subarray(0, HEADER_CHECKSUM_OFFSET)), HEADER_CHECKSUM_OFFSET);
  return bytes;
}

const SLOT0 = HEADER_FIXED_SIZE_BYTES;

/** A new vault at path whose two header copies both carry `patch` (with their checksums recomputed). */
async function vaultWithBothCopiesPatched(path: string, patch: (bytes: Uint8Array, view: DataView) => void): Promise<void> {
  await Vault.create(path, { secret: SECRET, slotKind: "passphrase", kdf: CHEAP_KDF, deps });
  const bytes = fs.readFileSync(path);
  for (const offset of HEADER_COPY_OFFSETS) {
    const copy = bytes.subarray(offset, offset + HEADER_COPY_SIZE_BYTES);
    copy.set(patched(copy, patch));
  }
  fs.writeFileSync(path, bytes);
}

function tempDir(): string {
  return fs.mkdtempSync(`${os.tmpdir()}/suede-`);
}

test("encodeHeaderCopy/decodeHeaderCopy: copies 0 and 1 round-trip", async () => {
  const { header } = await makeFixture();
  for (const index of [0, 1] as const) {
    const bytes = encodeHeaderCopy(header, index);
    assert.equal(bytes.byteLength, HEADER_COPY_SIZE_BYTES);
    const decoded = decodeHeaderCopy(bytes, index);
    assert.deepEqual(decoded, header);
  }
  // The two copies differ only in copy index, self offset and checksum.
  const a = encodeHeaderCopy(header, 0);
  const b = encodeHeaderCopy(header, 1);
  const differing: number[] = [];
  for (let i = 0; i < HEADER_COPY_SIZE_BYTES; i++) if (a[i] !== b[i]) differing.push(i);
  assert.ok(differing.every((i) => i === 10 || (i >= 16 && i < 24) || i >= HEADER_CHECKSUM_OFFSET), `copies differ at ${differing.join(",")}`);
});

test("decodeHeaderCopy: a copy placed at the wrong index is damaged (misplaced)", async () => {
  const { header } = await makeFixture();
  for (const [written, readAs] of [[0, 1], [1, 0]] as const) {
    const result = decodeHeaderCopy(encodeHeaderCopy(header, written), readAs);
    assert.equal("kind" in result && result.kind, "damaged");
    assert.match((result as { detail: string }).detail, /misplaced/);
  }
  // Right copy index but a wrong self offset (checksum recomputed).
  const moved = patched(encodeHeaderCopy(header, 0), (_b, v) => v.setBigUint64(16, 4096n, true));
  const result = decodeHeaderCopy(moved, 0);
  assert.deepEqual(result, { kind: "damaged", detail: "header copy 0 is misplaced" });
});

test("decodeHeaderCopy: bad checksum is damaged", async () => {
  const { header } = await makeFixture();
  const copy = encodeHeaderCopy(header, 1);
  for (const at of [8, 100, 2000, HEADER_CHECKSUM_OFFSET, HEADER_COPY_SIZE_BYTES - 1]) {
    const bytes = Uint8Array.from(copy);
    bytes[at]! ^= 0x01;
    assert.deepEqual(decodeHeaderCopy(bytes, 1), { kind: "damaged", detail: "header copy 1 checksum mismatch" }, `flip at ${at}`);
  }
});

test("decodeHeaderCopy: wrong magic, zeros or a short buffer is not-a-vault", async () => {
  const { header } = await makeFixture();
  const copy = encodeHeaderCopy(header, 0);
  const wrongMagic = patched(copy, (b) => (b[0] = "X".charCodeAt(0)));
  assert.deepEqual(decodeHeaderCopy(wrongMagic, 0), { kind: "not-a-vault" });
  assert.deepEqual(decodeHeaderCopy(new Uint8Array(HEADER_COPY_SIZE_BYTES), 0), { kind: "not-a-vault" });
  assert.deepEqual(decodeHeaderCopy(copy.subarray(0, HEADER_COPY_SIZE_BYTES - 1), 0), { kind: "not-a-vault" });
});

test("decodeHeaderCopy: version 2 with a valid checksum is unsupported-version", async () => {
  const { header } = await makeFixture();
  const v2 = patched(encodeHeaderCopy(header, 0), (_b, v) => v.setUint16(8, 2, true));
  assert.deepEqual(decodeHeaderCopy(v2, 0), { kind: "unsupported-version", version: 2 });
  // Version is decided before placement: a v2 copy at the wrong index still says unsupported.
  assert.deepEqual(decodeHeaderCopy(v2, 1), { kind: "unsupported-version", version: 2 });
});

test("decodeHeaderCopy: non-zero padding between MAC and checksum is damaged", async () => {
  const { header } = await makeFixture();
  for (const at of [HEADER_MAC_OFFSET + 32, 2048, HEADER_CHECKSUM_OFFSET - 1]) {
    const bytes = patched(encodeHeaderCopy(header, 0), (b) => (b[at] = 1));
    assert.deepEqual(decodeHeaderCopy(bytes, 0), { kind: "damaged", detail: "header copy 0 has non-zero padding" }, `byte ${at}`);
  }
});

test("decodeHeaderCopy: unknown algorithms, slot state, slot kind and KDF code are damaged", async () => {
  const { header } = await makeFixture();
  const copy = encodeHeaderCopy(header, 0);
  for (const at of [48, 49, 50, 51]) {
    const result = decodeHeaderCopy(patched(copy, (b) => (b[at] = 9)), 0);
    assert.equal("kind" in result && result.kind, "damaged", `byte ${at}`);
  }
  for (const [offset, detail] of [[0, /state 2/], [1, /kind 9/], [2, /KDF 9/]] as const) {
    const result = decodeHeaderCopy(patched(copy, (b) => (b[SLOT0 + offset] = offset === 0 ? 2 : 9)), 0);
    assert.equal("kind" in result && result.kind, "damaged");
    assert.match((result as { detail: string }).detail, detail);
  }
});

test("decodeHeaderCopy: non-zero reserved bytes in the fixed area or a slot, or a non-zero empty slot, are damaged", async () => {
  const { header } = await makeFixture();
  const copy = encodeHeaderCopy(header, 0);
  const emptySlot = HEADER_FIXED_SIZE_BYTES + 2 * KEY_SLOT_SIZE_BYTES;
  const cases: [number, RegExp][] = [
    [11, /reserved/],
    [15, /reserved/],
    [52, /reserved/],
    [63, /reserved/],
    [SLOT0 + 3, /reserved/],
    [SLOT0 + 124, /reserved/],
    [SLOT0 + 127, /reserved/],
    [emptySlot + 1, /empty key slot/],
    [emptySlot + 127, /empty key slot/],
  ];
  for (const [at, detail] of cases) {
    const result = decodeHeaderCopy(patched(copy, (b) => (b[at] = 0x20)), 0);
    assert.equal("kind" in result && result.kind, "damaged", `byte ${at}`);
    assert.match((result as { detail: string }).detail, detail, `byte ${at}`);
  }
});

test("decodeHeaderCopy: KDF parameters beyond the caps (valid checksum) are damaged", async () => {
  const { header } = await makeFixture();
  const copy = encodeHeaderCopy(header, 0);
  const cases: [number, number, RegExp][] = [
    [8, KDF_MEMORY_MAX_KIB + 1, /memory/],
    [8, 0xffff_ffff, /memory/],
    [8, 7, /memory/],
    [4, 0, /iterations/],
    [4, 65, /iterations/],
    [12, 0, /parallelism/],
    [12, 17, /parallelism/],
  ];
  for (const [field, value, detail] of cases) {
    const result = decodeHeaderCopy(patched(copy, (_b, v) => v.setUint32(SLOT0 + field, value, true)), 0);
    assert.equal("kind" in result && result.kind, "damaged", `slot field ${field} = ${value}`);
    assert.match((result as { detail: string }).detail, detail);
  }
  // The key-file slot (slot 5) is checked as well.
  const slot5 = HEADER_FIXED_SIZE_BYTES + 5 * KEY_SLOT_SIZE_BYTES;
  const result = decodeHeaderCopy(patched(copy, (_b, v) => v.setUint32(slot5 + 8, KDF_MEMORY_MAX_KIB + 1, true)), 0);
  assert.equal("kind" in result && result.kind, "damaged");
});

test("decodeHeaderCopy: a sequence beyond 2^53 (valid checksum) is damaged, not a throw", async () => {
  const { header } = await makeFixture();
  const huge = patched(encodeHeaderCopy(header, 0), (_b, v) => v.setBigUint64(24, 1n << 60n, true));
  let result: ReturnType<typeof decodeHeaderCopy> | undefined;
  assert.doesNotThrow(() => {
    result = decodeHeaderCopy(huge, 0);
  });
  assert.equal(result !== undefined && "kind" in result && result.kind, "damaged");
});

test("readHeader: a copy 0 with a sequence beyond 2^53 falls back to copy 1", async () => {
  const dir = tempDir();
  try {
    const { header } = await makeFixture();
    const path = `${dir}/h`;
    const huge = patched(encodeHeaderCopy(header, 0), (_b, v) => v.setBigUint64(24, 1n << 60n, true));
    fs.writeFileSync(path, Buffer.concat([huge, encodeHeaderCopy(header, 1)]));
    const file = await VaultFile.open(path, { writable: false });
    try {
      const { candidates, warnings } = await readHeader(file);
      assert.equal(candidates.length, 1);
      assert.equal(candidates[0]!.sequence, header.sequence);
      assert.equal(warnings.length, 1);
    } finally {
      await file.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("readHeader: both copies valid → both candidates, newest first; one damaged → the other with a warning", async () => {
  const dir = tempDir();
  try {
    const older = await makeFixture(3);
    const newer: VaultHeader = { ...older.header, sequence: 4 };
    const path = `${dir}/h`;
    const read = async (bytes: Uint8Array) => {
      fs.writeFileSync(path, bytes);
      const file = await VaultFile.open(path, { writable: false });
      try {
        return await readHeader(file);
      } finally {
        await file.close();
      }
    };
    let got = await read(Buffer.concat([encodeHeaderCopy(older.header, 0), encodeHeaderCopy(newer, 1)]));
    assert.deepEqual(got.candidates.map((h) => h.sequence), [4, 3]);
    assert.deepEqual(got.warnings, []);
    got = await read(Buffer.concat([encodeHeaderCopy(newer, 0), encodeHeaderCopy(older.header, 1)]));
    assert.deepEqual(got.candidates.map((h) => h.sequence), [4, 3]);
    const flipped = Buffer.from(encodeHeaderCopy(newer, 0));
    flipped[SLOT0 + 20]! ^= 0x10;
    got = await read(Buffer.concat([flipped, encodeHeaderCopy(older.header, 1)]));
    assert.deepEqual(got.candidates.map((h) => h.sequence), [3]);
    assert.equal(got.warnings.length, 1);
    assert.match(got.warnings[0]!, /checksum/);
    await assert.rejects(read(new Uint8Array(2 * HEADER_COPY_SIZE_BYTES)), (e: unknown) => e instanceof SuedeError && e.code === "NOT_A_VAULT");
    await assert.rejects(read(Buffer.concat([flipped, flipped])), (e: unknown) => e instanceof VaultCorruptError);
    const v2 = patched(encodeHeaderCopy(newer, 0), (_b, v) => v.setUint16(8, 2, true));
    await assert.rejects(read(Buffer.concat([v2, patched(encodeHeaderCopy(newer, 1), (_b, v) => v.setUint16(8, 2, true))])), (e: unknown) => e instanceof SuedeError && e.code === "UNSUPPORTED_FORMAT_VERSION");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("Vault.open: KDF memory above the cap in both copies (valid checksums) fails as damaged before any KDF runs", async () => {
  const dir = tempDir();
  try {
    const path = `${dir}/v.suede`;
    // 4 TiB: were the KDF run with it, Argon2 would fail to allocate rather than report damage.
    await vaultWithBothCopiesPatched(path, (_b, v) => v.setUint32(SLOT0 + 8, 0xffff_ffff, true));
    // Refused while decoding: an Argon2 run with 4 TiB would fail with an allocation error instead.
    await assert.rejects(Vault.open(path, { secret: SECRET, writable: false, deps }), (error: unknown) => {
      assert.ok(error instanceof VaultCorruptError, String(error));
      assert.match(error.message, /both header copies are damaged.*KDF memory/);
      return true;
    });
    // Only copy 0 damaged this way: copy 1 opens the vault, with a warning.
    const fresh = `${dir}/w.suede`;
    await Vault.create(fresh, { secret: SECRET, slotKind: "passphrase", kdf: CHEAP_KDF, deps });
    const freshBytes = fs.readFileSync(fresh);
    const copy0 = freshBytes.subarray(0, HEADER_COPY_SIZE_BYTES);
    copy0.set(patched(copy0, (_b, v) => v.setUint32(SLOT0 + 8, KDF_MEMORY_MAX_KIB + 1, true)));
    fs.writeFileSync(fresh, freshBytes);
    const vault = await Vault.open(fresh, { secret: SECRET, writable: false, deps });
    try {
      assert.equal(vault.warnings.length, 1);
      assert.match(vault.warnings[0]!, /memory/);
    } finally {
      await vault.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("Vault.open: a header parameter changed with a recomputed checksum fails the header MAC", async () => {
  const dir = tempDir();
  try {
    const path = `${dir}/v.suede`;
    // Bump the sequence: not covered by a slot's AAD, covered by the header MAC.
    await vaultWithBothCopiesPatched(path, (_b, v) => v.setBigUint64(24, v.getBigUint64(24, true) + 1n, true));
    await assert.rejects(Vault.open(path, { secret: SECRET, writable: false, deps }), (error: unknown) => error instanceof VaultCorruptError && /MAC/.test(error.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("Vault.open: a newer header copy forged without the key (valid checksum, bad MAC) is skipped for the other copy, with a warning", async () => {
  const dir = tempDir();
  try {
    const path = `${dir}/v.suede`;
    await Vault.create(path, { secret: SECRET, slotKind: "passphrase", kdf: CHEAP_KDF, deps });
    const bytes = fs.readFileSync(path);
    const copy0 = bytes.subarray(0, HEADER_COPY_SIZE_BYTES);
    copy0.set(patched(copy0, (_b, v) => v.setBigUint64(24, 99n, true)));
    fs.writeFileSync(path, bytes);
    const vault = await Vault.open(path, { secret: SECRET, writable: false, deps });
    try {
      assert.equal(vault.vaultHeader.sequence, 1);
      assert.ok(vault.warnings.some((w) => /MAC/.test(w)), vault.warnings.join("; "));
    } finally {
      await vault.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("wrapMasterKey/unwrapMasterKey: the right KEK returns master and time; a wrong KEK or changed slot returns null", async () => {
  const { header, master, kek, slot, createdMs } = await makeFixture();
  assert.deepEqual(unwrapMasterKey(kek, header.vaultId, slot), { master, createdMs });
  const wrongKek = Uint8Array.from(kek);
  wrongKek[0]! ^= 1;
  assert.equal(unwrapMasterKey(wrongKek, header.vaultId, slot), null);
  assert.equal(unwrapMasterKey(await deriveKek(Buffer.from("wrong passphrase"), slot.salt, slot.kdf), header.vaultId, slot), null);
  const otherVault = Uint8Array.from(header.vaultId);
  otherVault[15]! ^= 0x80;
  assert.equal(unwrapMasterKey(kek, otherVault, slot), null);
  // Slot fields are bound by the AAD: changing KDF parameters, salt or kind breaks the unwrap.
  assert.equal(unwrapMasterKey(kek, header.vaultId, { ...slot, kdf: { ...slot.kdf, iterations: 2 } }), null);
  // Flipped, not set: a random salt already starts with any given byte once in 256 runs.
  const otherSalt = Uint8Array.from(slot.salt);
  otherSalt[0]! ^= 1;
  assert.equal(unwrapMasterKey(kek, header.vaultId, { ...slot, salt: otherSalt }), null);
  assert.equal(unwrapMasterKey(kek, header.vaultId, { ...slot, kind: "key-file" }), null);
  const tampered = Uint8Array.from(slot.wrapped);
  tampered[tampered.length - 1]! ^= 1;
  assert.equal(unwrapMasterKey(kek, header.vaultId, { ...slot, wrapped: tampered }), null);
  // A decoded copy unwraps like the original slot.
  const decoded = decodeHeaderCopy(encodeHeaderCopy(header, 1), 1);
  assert.ok("slots" in decoded);
  assert.deepEqual(unwrapMasterKey(kek, decoded.vaultId, decoded.slots[0]!), { master, createdMs });
});

test("slotCreatedMs: recovers the creation time with the header MAC key only", async () => {
  const { header, master, slot, createdMs } = await makeFixture();
  const macKey = deriveVaultKeys(master, header.vaultId).headerMac;
  assert.equal(slotCreatedMs(macKey, slot), createdMs);
  assert.equal(slotCreatedMs(macKey, header.slots[5]!), createdMs + 1);
  const otherKey = Uint8Array.from(macKey);
  otherKey[0]! ^= 1;
  // Another key unmasks noise: a different time, or a u64 beyond 2^53 that ByteReader refuses.
  let other: number | null = null;
  try {
    other = slotCreatedMs(otherKey, slot);
  } catch {
    other = null;
  }
  assert.notEqual(other, createdMs);
  // The stored bytes are not the plain little-endian time.
  assert.notEqual(Buffer.from(slot.createdMasked).readBigUInt64LE(0), BigInt(createdMs));
});

test("headerMac: covers sequence and slots, ignores the stored MAC", async () => {
  const { header, master } = await makeFixture();
  const key = deriveVaultKeys(master, header.vaultId).headerMac;
  assert.deepEqual(Buffer.from(headerMac(key, header)), Buffer.from(header.mac));
  assert.deepEqual(Buffer.from(headerMac(key, { ...header, mac: new Uint8Array(32).fill(9) })), Buffer.from(header.mac));
  assert.notDeepEqual(Buffer.from(headerMac(key, { ...header, sequence: header.sequence + 1 })), Buffer.from(header.mac));
  const slots = [...header.slots];
  slots[0] = { ...slots[0]!, kdf: { ...slots[0]!.kdf, memoryKiB: 128 } };
  assert.notDeepEqual(Buffer.from(headerMac(key, { ...header, slots })), Buffer.from(header.mac));
  // The masked creation time is outside the slot's AAD but inside the header MAC.
  const masked = [...header.slots];
  masked[0] = { ...masked[0]!, createdMasked: Uint8Array.from(masked[0]!.createdMasked).fill(0, 0, 1) };
  if (Buffer.compare(masked[0].createdMasked, header.slots[0]!.createdMasked) === 0) masked[0] = { ...masked[0], createdMasked: new Uint8Array(8).fill(1) };
  assert.notDeepEqual(Buffer.from(headerMac(key, { ...header, slots: masked })), Buffer.from(header.mac));
});
