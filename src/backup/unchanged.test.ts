// Goal: the file workers' in-place comparison of a listing with the parent's encoded tree parts
// (matchParent's "unchanged" verdict) is exactly as strict as decoding the parts and comparing Nodes: any one field
// that differs (down to the nanoseconds of an mtime, or only the ctime) makes the directory changed.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SourceStat } from "../core/ports.ts";
import { FILE_STAT } from "../../test/helpers/source-stat.ts";
import type { Node } from "../core/types.ts";
import { decodeTreePart, encodeTreePart } from "../snapshot/tree-codec.ts";
import { Prng } from "../../test/helpers/prng.ts";
import { AccountBytes, type AccountNames, type ListingToMatch, matchParent, nodeFromStat, nodeWithoutIo, sameNode } from "./unchanged.ts";

/** What the walk takes from the worker: the parent's subtree IDs when the whole listing is unchanged, else null. */
function unchangedSubtrees(accounts: AccountBytes, listing: ListingToMatch, parts: readonly Uint8Array[]): Uint8Array[][] | null {
  const match = matchParent(accounts, listing, parts);
  return match !== null && match.unchanged ? match.subtrees : null;
}

const accounts: AccountNames = {
  userName: (uid) => (uid === 0 ? "root" : uid === 1000 ? "zoë" : ""),
  groupName: (gid) => (gid === 0 ? "root" : gid === 4_000_000_000 ? "big" : ""),
};

// The largest inode a u64 holds but one: the codec must keep all 64 bits.
const base: SourceStat = { ...FILE_STAT, inode: 2n ** 64n - 2n };

/** A listing of every entry type (a sparse file, a device, a large gid, a negative time). */
function listing(): { names: Buffer[]; stats: SourceStat[] } {
  const stats: SourceStat[] = [
    base,
    { ...base, type: "dir", mode: 0o755, sizeBytes: 4096, inode: 7n, nlink: 2 },
    { ...base, type: "symlink", mode: 0o777, sizeBytes: 3, inode: 8n },
    { ...base, type: "chardev", mode: 0o600, sizeBytes: 0, inode: 9n, rdev: 0x1_0000_0003n, gid: 4_000_000_000 },
    { ...base, type: "fifo", sizeBytes: 0, inode: 10n, ctimeNs: -1_000_000_001n },
    { ...base, sizeBytes: 2 ** 40, blocks: 8, inode: 11n, nlink: 2 },
    { ...base, type: "dir", inode: 12n, nlink: 5 },
  ];
  const names = ["a", "b-dir", "c\xff-link", "d-dev", "e-fifo", "f-sparse", "g-dir"].map((n) => Buffer.from(n, "latin1"));
  return { names, stats };
}

/** The parent's nodes for a listing, as an earlier backup stored them. */
function parentNodes(names: readonly Buffer[], stats: readonly SourceStat[]): Node[] {
  return stats.map((stat, i) => {
    const name = names[i]!;
    switch (stat.type) {
      case "file":
        return nodeFromStat(accounts, name, stat, { chunks: [{ id: new Uint8Array(32).fill(i), sizeBytes: stat.sizeBytes }], ...(stat.blocks * 512 < stat.sizeBytes ? { sparse: true } : {}) });
      case "dir":
        return nodeFromStat(accounts, name, stat, { subtree: [new Uint8Array(32).fill(0x40 + i), new Uint8Array(32).fill(0x50 + i)] });
      case "symlink":
        return nodeFromStat(accounts, name, stat, { linkTarget: Buffer.from("abc") });
      default:
        return nodeWithoutIo(accounts, name, stat, null)!;
    }
  });
}

/** What the check must say: decode every part and compare Node for Node (the former worker code). */
function reference(names: readonly Buffer[], stats: readonly SourceStat[], parts: readonly Uint8Array[]): Uint8Array[][] | null {
  let parent: Node[];
  try {
    parent = parts.flatMap((part) => decodeTreePart(part));
  } catch {
    return null;
  }
  if (parent.length !== names.length) return null;
  for (let i = 0; i < parent.length; i++) {
    const before = parent[i]!;
    const stat = stats[i]!;
    if (Buffer.compare(names[i]!, before.name) !== 0) return null;
    const node = stat.type === "dir" ? nodeFromStat(accounts, before.name, stat, before.subtree !== undefined ? { subtree: before.subtree } : {}) : nodeWithoutIo(accounts, before.name, stat, before);
    if (node === null || !sameNode(node, before)) return null;
  }
  return parent.filter((n) => n.type === "dir").map((n) => [...(n.subtree ?? [])]);
}

function check(names: readonly Buffer[], stats: readonly SourceStat[], parts: readonly Uint8Array[]): Uint8Array[][] | null {
  return unchangedSubtrees(new AccountBytes(accounts), { names, stats }, parts);
}

test("an unchanged listing gives the parent's subtree IDs of its directories, over several parts", () => {
  const { names, stats } = listing();
  const nodes = parentNodes(names, stats);
  const parts = [encodeTreePart(nodes.slice(0, 3)), encodeTreePart([]), encodeTreePart(nodes.slice(3))];
  const subtrees = check(names, stats, parts);
  assert.deepEqual(subtrees?.map((ids) => ids.map((id) => Buffer.from(id).toString("hex"))), [
    [Buffer.alloc(32, 0x41).toString("hex"), Buffer.alloc(32, 0x51).toString("hex")],
    [Buffer.alloc(32, 0x46).toString("hex"), Buffer.alloc(32, 0x56).toString("hex")],
  ]);
  assert.deepEqual(check([], [], [encodeTreePart([])]), []);
});

test("one changed field of one entry makes the listing changed, nanoseconds and ctime alone included", () => {
  const { names, stats } = listing();
  const parts = [encodeTreePart(parentNodes(names, stats))];
  const changes: [string, number, Partial<SourceStat>][] = [
    ["mtime ns", 0, { mtimeNs: base.mtimeNs + 1n }],
    ["ctime only", 0, { ctimeNs: base.ctimeNs + 1n }],
    ["negative ctime", 4, { ctimeNs: -1_000_000_002n }],
    ["inode", 0, { inode: base.inode - 1n }],
    ["device", 2, { device: 2050n }],
    ["size", 0, { sizeBytes: 5001 }],
    ["mode", 1, { mode: 0o700 }],
    ["uid", 0, { uid: 0 }],
    ["gid", 3, { gid: 0 }],
    ["nlink", 6, { nlink: 4 }],
    ["became sparse", 0, { blocks: 0 }],
    ["no longer sparse", 5, { blocks: 2 ** 32 }],
    ["rdev", 3, { rdev: 0x1_0000_0004n }],
    ["file became fifo", 0, { type: "fifo", sizeBytes: 0 }],
    ["symlink became file", 2, { type: "file" }],
  ];
  for (const [what, entry, change] of changes) {
    const changed = stats.map((stat, i) => (i === entry ? { ...stat, ...change } : stat));
    assert.equal(check(names, changed, parts), null, what);
  }
  const renamed = names.map((name, i) => (i === 4 ? Buffer.from("e-fifO") : name));
  assert.equal(check(renamed, stats, parts), null, "renamed");
  assert.equal(check(names.slice(1), stats.slice(1), parts), null, "entry removed");
  assert.equal(check([...names, Buffer.from("h")], [...stats, base], parts), null, "entry added");
  const failed = [...stats] as (SourceStat | { code: string; message: string })[];
  failed[0] = { code: "EACCES", message: "denied" };
  assert.equal(unchangedSubtrees(new AccountBytes(accounts), { names, stats: failed }, parts), null, "lstat failed");
  const renamedUser = new AccountBytes({ ...accounts, userName: (uid) => (uid === 1000 ? "zoe" : accounts.userName(uid)) });
  assert.equal(unchangedSubtrees(renamedUser, { names, stats }, parts), null, "user renamed");
});

test("a parent entry with something the listing cannot reproduce is changed", () => {
  const { names, stats } = listing();
  const nodes = parentNodes(names, stats);
  const variants: [string, { [K in keyof Node]?: Node[K] | undefined }, number][] = [
    ["unreadable", { unreadable: "EACCES" }, 0],
    ["xattrs", { xattrs: [[Buffer.from("user.a"), Buffer.from("1")]] }, 0],
    ["file without chunks", { chunks: undefined }, 0],
    ["file with a link target", { linkTarget: Buffer.from("x") }, 0],
    ["dir with chunks", { chunks: [] }, 1],
    ["dir marked sparse", { sparse: true }, 1],
    ["symlink without target", { linkTarget: undefined }, 2],
    ["fifo with rdev", { rdev: 0n }, 4],
    ["fifo with a subtree", { subtree: [] }, 4],
    ["sparse flag lost", { sparse: undefined }, 5],
  ];
  for (const [what, change, entry] of variants) {
    const parts = [encodeTreePart(nodes.map((node, i) => (i === entry ? ({ ...node, ...change } as Node) : node)))];
    assert.equal(check(names, stats, parts), null, what);
    assert.equal(reference(names, stats, parts), null, `reference: ${what}`);
  }
});

test("a damaged or foreign part is changed, not an error", () => {
  const { names, stats } = listing();
  const good = encodeTreePart(parentNodes(names, stats));
  assert.notEqual(check(names, stats, [good]), null);
  assert.equal(check(names, stats, [good.subarray(0, good.byteLength - 1)]), null, "truncated");
  assert.equal(check(names, stats, [Buffer.concat([good, Buffer.from([0xc0])])]), null, "trailing byte");
  const version = Uint8Array.from(good);
  version[1] = 2;
  assert.equal(check(names, stats, [version]), null, "other format version");
});

test("random listings and edits: the in-place check agrees with decoding", () => {
  const prng = new Prng(5);
  const { names, stats } = listing();
  const nodes = parentNodes(names, stats);
  const parts = [encodeTreePart(nodes)];
  const edits: ((stat: SourceStat) => SourceStat)[] = [
    (s) => s,
    (s) => ({ ...s, mtimeNs: s.mtimeNs + BigInt(prng.below(3)) }),
    (s) => ({ ...s, ctimeNs: s.ctimeNs - BigInt(prng.below(2)) }),
    (s) => ({ ...s, sizeBytes: s.sizeBytes + prng.below(2) }),
    (s) => ({ ...s, blocks: prng.below(3) === 0 ? 0 : s.blocks }),
    (s) => ({ ...s, rdev: s.rdev + BigInt(prng.below(2)) }),
    (s) => ({ ...s, nlink: s.nlink + prng.below(2) }),
  ];
  let unchanged = 0;
  for (let round = 0; round < 2000; round++) {
    const edited = stats.map((stat) => (prng.below(4) === 0 ? edits[prng.below(edits.length)]!(stat) : stat));
    const expected = reference(names, edited, parts);
    const actual = check(names, edited, parts);
    assert.deepEqual(actual?.map((ids) => ids.map((id) => Buffer.from(id))), expected?.map((ids) => ids.map((id) => Buffer.from(id))), `round ${round}`);
    if (expected !== null) unchanged++;
  }
  assert.ok(unchanged > 100 && unchanged < 1900, `both outcomes drawn (${unchanged} unchanged)`);
});
