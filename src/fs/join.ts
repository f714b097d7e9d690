/** Raw-byte path joining and the name check that keeps restore inside its target. */
import { assert } from "../util/assert.ts";

const SLASH = 0x2f;
const NUL = 0x00;
const DOT = 0x2e;

/** parent + "/" + name (no extra "/" when parent already ends in one). parent must not be empty. */
export function joinPath(parent: Buffer, name: Uint8Array): Buffer {
  assert(parent.byteLength > 0, "joinPath: empty parent");
  const separator = parent[parent.byteLength - 1] === SLASH ? 0 : 1;
  const out = Buffer.allocUnsafe(parent.byteLength + separator + name.byteLength);
  parent.copy(out, 0);
  if (separator === 1) out[parent.byteLength] = SLASH;
  out.set(name, parent.byteLength + separator);
  return out;
}

/**
 * True when name is a single path component that stays in its directory: not empty, not "." or
 * "..", no "/" and no NUL. Restore checks every name from a vault with it, so a crafted vault can
 * never make it write outside the target.
 */
export function isSafeName(name: Uint8Array): boolean {
  if (name.byteLength === 0) return false;
  if (name.byteLength === 1 && name[0] === DOT) return false;
  if (name.byteLength === 2 && name[0] === DOT && name[1] === DOT) return false;
  return !name.includes(SLASH) && !name.includes(NUL);
}
