// Goal: displayPath shows valid UTF-8 as text and is unambiguous; method: fixed cases plus a parser that turns random outputs back into the exact input bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { displayPath } from "./display-path.ts";

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

test("valid UTF-8 is shown as is", () => {
  assert.equal(displayPath(utf8("/home/zoë/Straße/日本語 🎉.txt")), "/home/zoë/Straße/日本語 🎉.txt");
  assert.equal(displayPath(utf8("")), "");
});

test("invalid bytes become \\xNN", () => {
  assert.equal(displayPath(bytes(0x61, 0xff, 0xfe)), "a\\xff\\xfe");
  assert.equal(displayPath(bytes(0x85)), "\\x85");
  // Overlong encoding and an encoded surrogate are invalid byte by byte.
  assert.equal(displayPath(bytes(0xc0, 0xaf)), "\\xc0\\xaf");
  assert.equal(displayPath(bytes(0xed, 0xa0, 0x80)), "\\xed\\xa0\\x80");
  // Truncated sequence at the end, then a valid one after an invalid byte.
  assert.equal(displayPath(bytes(0x78, 0xe2, 0x82)), "x\\xe2\\x82");
  assert.equal(displayPath(bytes(0xff, 0xe2, 0x82, 0xac)), "\\xff€");
  assert.equal(displayPath(bytes(0xf4, 0x90, 0x80, 0x80)), "\\xf4\\x90\\x80\\x80");
});

test("backslash, control and invisible characters are escaped", () => {
  assert.equal(displayPath(utf8("a\\xff")), "a\\\\xff");
  assert.equal(displayPath(utf8("a\nb\tc\rd")), "a\\nb\\tc\\rd");
  assert.equal(displayPath(bytes(0x01, 0x7f, 0x00)), "\\x01\\x7f\\x00");
  // A valid C1 control (U+0085) differs from the invalid lone byte 0x85.
  assert.equal(displayPath(bytes(0xc2, 0x85)), "\\u0085");
  // A leading BOM is kept (escaped), not dropped by the decoder.
  assert.equal(displayPath(bytes(0xef, 0xbb, 0xbf, 0x61)), "\\ufeffa");
  assert.equal(displayPath(utf8("evil\u202etxt.exe")), "evil\\u202etxt.exe");
  // The escapes also apply next to invalid bytes.
  assert.equal(displayPath(bytes(0xff, 0x0a, 0x5c)), "\\xff\\n\\\\");
});

/** Inverse of displayPath, to prove it loses nothing. */
function parseDisplay(text: string): Uint8Array {
  const out: number[] = [];
  for (let at = 0; at < text.length; ) {
    const char = text[at] as string;
    if (char !== "\\") {
      const code = text.codePointAt(at) as number;
      const size = code > 0xffff ? 2 : 1;
      out.push(...utf8(text.slice(at, at + size)));
      at += size;
      continue;
    }
    const kind = text[at + 1];
    if (kind === "\\") out.push(0x5c);
    else if (kind === "n") out.push(0x0a);
    else if (kind === "t") out.push(0x09);
    else if (kind === "r") out.push(0x0d);
    else if (kind === "x") {
      out.push(parseInt(text.slice(at + 2, at + 4), 16));
      at += 2;
    } else if (kind === "u") {
      out.push(...utf8(String.fromCodePoint(parseInt(text.slice(at + 2, at + 6), 16))));
      at += 4;
    } else throw new Error(`bad escape at ${at} in ${text}`);
    at += 2;
  }
  return new Uint8Array(out);
}

test("the output parses back to the exact bytes (random byte strings and random text)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (input) => {
      assert.deepEqual(parseDisplay(displayPath(input)), input);
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 20 }), (text) => {
      const input = utf8(text);
      assert.deepEqual(parseDisplay(displayPath(input)), input);
    }),
    { numRuns: 2000 },
  );
});
