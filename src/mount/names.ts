/**
 * Entry names in the mount. FUSE hands names to fuse-native as UTF-8 strings, so a name that is not
 * valid UTF-8 cannot pass through as it is: each byte outside a valid UTF-8 sequence is shown as
 * `\xNN` (and a backslash in such a name as `\\`). Lookups go through the directory's own list of
 * shown names, so the mapping is exact; a shown name that would collide with a real sibling gets
 * `~` appended until it is unique. Symlink targets that are not valid UTF-8 are shown the same way
 * (so such a link does not resolve through the mount).
 */
import { sequenceLength } from "../fs/display-path.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The name as FUSE shows it; valid UTF-8 names are unchanged. */
export function shownName(name: Uint8Array): string {
  try {
    return strictUtf8.decode(name);
  } catch {
    // Not valid UTF-8: escape byte by byte below.
  }
  let out = "";
  let at = 0;
  while (at < name.byteLength) {
    const length = sequenceLength(name[at]!);
    if (length > 0 && at + length <= name.byteLength) {
      const text = tryDecode(name.subarray(at, at + length));
      if (text !== null) {
        out += text === "\\" ? "\\\\" : text;
        at += length;
        continue;
      }
    }
    out += `\\x${name[at]!.toString(16).padStart(2, "0").toUpperCase()}`;
    at += 1;
  }
  return out;
}

function tryDecode(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Shown names for one directory's raw names, unique within it (valid names keep priority). */
export function shownNames(names: readonly Uint8Array[]): string[] {
  const shown = names.map(shownName);
  const valid = new Set(shown.filter((_, i) => tryDecode(names[i]!) !== null));
  const taken = new Set(valid);
  return shown.map((text, i) => {
    if (tryDecode(names[i]!) !== null) return text;
    let unique = text;
    while (taken.has(unique)) unique += "~";
    taken.add(unique);
    return unique;
  });
}
