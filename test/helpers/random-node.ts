/**
 * Random tree entries for the tree codec's tests: every entry type and edge value (negative and long
 * times, 64-bit inodes, huge sizes, names that are not UTF-8, sorted and distinct by their prefix).
 * plainOnly leaves out what the in-place reader hands to the general decoder (xattrs, unreadable
 * notes, non-ASCII owner names).
 */
import type { Node, NodeType } from "../../src/core/types.ts";
import type { Prng } from "./prng.ts";

const TYPES: NodeType[] = ["file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev"];

export function randomNode(prng: Prng, i: number, plainOnly = false): Node {
  const type = TYPES[prng.below(TYPES.length)]!;
  const big = (bits: number): bigint => (BigInt(prng.next()) << BigInt(Math.max(0, bits - 32))) | BigInt(prng.next());
  const users = plainOnly ? ["", "root", "x".repeat(40)] : ["", "root", "zoë", "x".repeat(40)];
  const node: { -readonly [K in keyof Node]: Node[K] } = {
    name: Buffer.concat([Buffer.from(String(i).padStart(6, "0")), prng.bytes(prng.below(4)).map((b) => (b === 0x2f || b === 0 ? 0x41 : b))]),
    type,
    mode: prng.below(0o10000),
    uid: [0, 1000, 65534, 4_294_967_294][prng.below(4)]!,
    gid: prng.below(2) === 0 ? 0 : 4_000_000_000,
    user: users[prng.below(users.length)]!,
    group: plainOnly ? "wheel" : ["", "wheel", "日本"][prng.below(3)]!,
    // Short and long decimals, negative times, and 0 (a lone digit).
    mtimeNs: [0n, -big(40), big(61), 123_456_789_012_345n, -999_999_999_999_999n, 1_000_000_000_000_000n][prng.below(6)]!,
    ctimeNs: big(61),
    inode: big(prng.below(2) === 0 ? 20 : 64),
    device: big(prng.below(2) === 0 ? 20 : 64),
    nlink: prng.below(3) === 0 ? 2 ** 40 : prng.below(300),
    sizeBytes: [0, 5, 300, 70_000, 2 ** 33, Number.MAX_SAFE_INTEGER][prng.below(6)]!,
  };
  if (type === "file") node.chunks = Array.from({ length: prng.below(4) }, () => ({ id: prng.bytes(32), sizeBytes: prng.below(2 ** 20) }));
  if (type === "file" && prng.below(3) === 0) node.sparse = true;
  if (type === "dir") node.subtree = Array.from({ length: prng.below(3) }, () => prng.bytes(32));
  if (type === "symlink") node.linkTarget = prng.bytes(1 + prng.below(300));
  if (type === "chardev" || type === "blockdev") node.rdev = big(64);
  if (!plainOnly && prng.below(8) === 0) node.xattrs = [[Buffer.from("user.a"), prng.bytes(3)]];
  if (!plainOnly && prng.below(8) === 0) node.unreadable = "EACCES";
  return node;
}
