/**
 * A tree entry from a partial spec, for the tree codec's property tests: what the spec leaves out
 * is a plain value (a root-owned 0644 file, times 0, inode and device 1). Type-specific fields
 * (chunks, subtree, link target…) are each test's own choice, so the entry comes back mutable.
 */
import type { Node } from "../../src/core/types.ts";

export type MutableNode = { -readonly [K in keyof Node]: Node[K] };

type CommonFields = "type" | "mode" | "uid" | "gid" | "user" | "group" | "mtimeNs" | "ctimeNs" | "inode" | "device" | "nlink" | "sizeBytes";

export function nodeFromSpec(name: Uint8Array, spec: Partial<Pick<Node, CommonFields>>): MutableNode {
  return {
    name,
    type: spec.type ?? "file",
    mode: spec.mode ?? 0o644,
    uid: spec.uid ?? 0,
    gid: spec.gid ?? 0,
    user: spec.user ?? "root",
    group: spec.group ?? "root",
    mtimeNs: spec.mtimeNs ?? 0n,
    ctimeNs: spec.ctimeNs ?? 0n,
    inode: spec.inode ?? 1n,
    device: spec.device ?? 1n,
    nlink: spec.nlink ?? 1,
    sizeBytes: spec.sizeBytes ?? 0,
  };
}
