// Goal: the JavaScript HMAC-SHA256 that derives every record's key gives node:crypto's bytes for every key and message it accepts, and a key changed in place is not served by its old pads. Method: RFC 4231 test cases 1, 2 and 3 (the ones whose key fits one block and message one final block), then random keys of 0-64 bytes and messages of 0-55 bytes (every padding position) against createHmac.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomFillSync } from "node:crypto";
import { HMAC_MESSAGE_MAX_BYTES, HmacSha256 } from "./hmac-sha256.ts";
import { recordKey } from "./keys.ts";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

test("HmacSha256: RFC 4231 test cases 1-3", () => {
  const cases = [
    { key: Buffer.alloc(20, 0x0b), data: Buffer.from("Hi There"), mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
    { key: Buffer.from("Jefe"), data: Buffer.from("what do ya want for nothing?"), mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
    { key: Buffer.alloc(20, 0xaa), data: Buffer.alloc(50, 0xdd), mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
  ];
  for (const { key, data, mac } of cases) assert.deepEqual(new HmacSha256(key).digest(data), hex(mac));
});

test("HmacSha256: createHmac's bytes for keys of 0-64 bytes and messages of 0-55 bytes", () => {
  for (let keyBytes = 0; keyBytes <= 64; keyBytes += keyBytes < 34 ? 1 : 10) {
    const key = randomFillSync(Buffer.alloc(keyBytes));
    const mac = new HmacSha256(key);
    for (let messageBytes = 0; messageBytes <= HMAC_MESSAGE_MAX_BYTES; messageBytes++) {
      const message = randomFillSync(Buffer.alloc(messageBytes));
      assert.deepEqual(mac.digest(message), createHmac("sha256", key).update(message).digest(), `key ${keyBytes} B, message ${messageBytes} B`);
    }
  }
  assert.throws(() => new HmacSha256(Buffer.alloc(32)).digest(Buffer.alloc(HMAC_MESSAGE_MAX_BYTES + 1)));
  assert.throws(() => new HmacSha256(Buffer.alloc(65)));
});

test("recordKey: 16-byte salts as createHmac, and a base key changed in place gets new pads", () => {
  const base = randomFillSync(new Uint8Array(32));
  for (let i = 0; i < 200; i++) {
    const salt = randomFillSync(new Uint8Array(16));
    assert.deepEqual(recordKey(base, salt), createHmac("sha256", base).update(salt).digest());
  }
  const salt = randomFillSync(new Uint8Array(16));
  const before = recordKey(base, salt);
  base[7] = base[7]! ^ 1;
  const after = recordKey(base, salt);
  assert.notDeepEqual(after, before);
  assert.deepEqual(after, createHmac("sha256", base).update(salt).digest());
  // Its own buffer: a caller may keep the key (an opened record's body is opened with it later).
  assert.equal(after.buffer.byteLength, 32);
});
