import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { loadNapiAddon } from "./native-addon.ts";

const requireHere = createRequire(import.meta.url);

test("loadNapiAddon: the same binary the package's own loader picks, so the same classes and results", () => {
  type Blake = typeof import("@napi-rs/blake-hash");
  const direct = loadNapiAddon<Blake>("@napi-rs/blake-hash");
  const viaPackage = requireHere("@napi-rs/blake-hash") as Blake;
  assert.equal(direct.Blake3Hasher, viaPackage.Blake3Hasher);
  assert.equal(Buffer.from(direct.blake3(Buffer.from("abc"))).toString("hex"), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
});

test("loadNapiAddon: a package without platform builds loads through its own entry", () => {
  const msgpack = loadNapiAddon<typeof import("@msgpack/msgpack")>("@msgpack/msgpack");
  assert.deepEqual(msgpack.decode(msgpack.encode({ a: 1 })), { a: 1 });
});
