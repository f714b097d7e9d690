/**
 * msgpack decoding for bytes read back from a vault: lengths and nesting are bounded so a crafted
 * (or damaged) record cannot make the decoder allocate without limit or the walk over the value
 * recurse without limit. Throws Error with a reason; callers wrap it as VaultCorruptError.
 */
import { Decoder } from "@msgpack/msgpack";

/** No suede structure nests deeper than this (tree entry → options map → xattr pair → bytes). */
export const MSGPACK_DEPTH_MAX = 8;
/** Largest array or map: a tree part holds at most 8192 entries, a checkpoint one entry per snapshot. */
export const MSGPACK_ITEMS_MAX = 1 << 20;
/** Largest string or byte string (a record body is at most 64 MiB). */
export const MSGPACK_BYTES_MAX = 64 * 1024 * 1024;

const decoder = new Decoder({
  maxArrayLength: MSGPACK_ITEMS_MAX,
  maxMapLength: MSGPACK_ITEMS_MAX,
  maxStrLength: MSGPACK_BYTES_MAX,
  maxBinLength: MSGPACK_BYTES_MAX,
  maxExtLength: 0,
});

export function decodeBounded(bytes: Uint8Array): unknown {
  const value = decoder.decode(bytes);
  checkDepth(value);
  return value;
}

/** Iterative, so a value nested a million levels deep is rejected without a deep JS stack. */
function checkDepth(root: unknown): void {
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    if (typeof value !== "object" || value === null || value instanceof Uint8Array) continue;
    if (depth >= MSGPACK_DEPTH_MAX) throw new Error(`msgpack value nests deeper than ${MSGPACK_DEPTH_MAX} levels`);
    const children = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) stack.push({ value: child, depth: depth + 1 });
  }
}
