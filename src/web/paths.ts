/** Snapshot paths in URLs: the raw path bytes as base64url, so any name (even not UTF-8) round-trips. */
import { SuedeError } from "../errors/errors.ts";

/** Decodes a base64url path parameter into an absolute path; "." and ".." components are refused. */
export function decodePathParam(text: string | undefined): Buffer {
  if (text === undefined || text === "") return Buffer.from("/");
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new SuedeError("USAGE", "path parameter is not base64url");
  const bytes = Buffer.from(text, "base64url");
  if (bytes[0] !== 0x2f) throw new SuedeError("USAGE", "path must be absolute");
  if (bytes.includes(0)) throw new SuedeError("USAGE", "path contains a NUL byte");
  const components = bytes.toString("latin1").split("/").filter((c) => c !== "");
  if (components.some((c) => c === "." || c === "..")) throw new SuedeError("USAGE", "path must not contain . or .. components");
  // Canonical form: one leading slash, no empty components, no trailing slash.
  return components.length === 0 ? Buffer.from("/") : Buffer.from(`/${components.join("/")}`, "latin1");
}

export function encodePathParam(path: Uint8Array): string {
  return Buffer.from(path).toString("base64url");
}

/** The path of `path` below `base` ("" when equal), or null when it is not below it. */
export function relativeTo(base: Uint8Array, path: Uint8Array): Buffer | null {
  const b = Buffer.from(base);
  const p = Buffer.from(path);
  if (b.length === 1) return p.subarray(1);
  if (p.equals(b)) return Buffer.alloc(0);
  if (p.length > b.length && p.subarray(0, b.length).equals(b) && p[b.length] === 0x2f) return p.subarray(b.length + 1);
  return null;
}
