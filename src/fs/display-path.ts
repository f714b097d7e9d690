/**
 * Shows a raw-byte path to a person. Valid UTF-8 is shown as text; every byte that is not part of a
 * valid UTF-8 sequence becomes `\xNN`. Backslash becomes `\\`, so the output is unambiguous: two
 * different byte strings never display the same. Control and invisible characters are escaped too
 * (`\n`, `\t`, `\r`, `\xNN` for other ASCII controls, `\uNNNN` for valid non-ASCII ones such as C1
 * controls, bidi overrides and zero-width characters) so a crafted name cannot fake terminal output.
 * For display only: never parse the result back into a path.
 */

// ignoreBOM keeps a leading U+FEFF in the output instead of silently dropping it.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Characters that are escaped even though they are valid UTF-8. */
const NEEDS_ESCAPE = /[\\\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

export function displayPath(path: Uint8Array): string {
  let whole: string | null = null;
  try {
    whole = strictUtf8.decode(path);
  } catch {
    whole = null;
  }
  if (whole !== null) return NEEDS_ESCAPE.test(whole) ? escapeText(whole) : whole;

  let out = "";
  let at = 0;
  while (at < path.byteLength) {
    const lead = path[at] as number;
    const length = sequenceLength(lead);
    if (length > 0 && at + length <= path.byteLength) {
      let text: string | null;
      try {
        text = strictUtf8.decode(path.subarray(at, at + length));
      } catch {
        text = null;
      }
      if (text !== null) {
        out += escapeText(text);
        at += length;
        continue;
      }
    }
    out += hexByte(lead);
    at += 1;
  }
  return out;
}

/** The length of the UTF-8 sequence a lead byte announces; 0 when it can never start one. */
export function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

function escapeText(text: string): string {
  let out = "";
  for (const char of text) {
    if (!NEEDS_ESCAPE.test(char)) {
      out += char;
      continue;
    }
    const code = char.codePointAt(0) as number;
    if (char === "\\") out += "\\\\";
    else if (char === "\n") out += "\\n";
    else if (char === "\t") out += "\\t";
    else if (char === "\r") out += "\\r";
    else if (code < 0x80) out += hexByte(code);
    else out += `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return out;
}

function hexByte(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}
