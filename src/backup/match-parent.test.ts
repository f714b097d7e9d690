// Goal: matchParent (the file workers' join of a listing with the parent's encoded tree parts,
// which backup uses to copy unchanged entries' bytes) finds each name's entry across parts, says
// "same" exactly when decoding and comparing Nodes would, and gives byte ranges that decode to
// that entry; names the parent lacks, entries the listing lacks and one changed field are told
// apart, and parts out of name order are refused. Method: hand-built listings of every entry type
// against parts encoded by encodeTreePart, checked against decode + sameNode.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SourceStat } from "../core/ports.ts";
import { FILE_STAT } from "../../test/helpers/source-stat.ts";
import type { Node } from "../core/types.ts";
import { decodeTreeEntry, encodeTreePart } from "../snapshot/tree-codec.ts";
import { AccountBytes, type AccountNames, MATCH_FIELDS, matchParent, nodeFromStat, nodeWithoutIo, sameNode } from "./unchanged.ts";

const accounts: AccountNames = { userName: (uid) => (uid === 0 ? "root" : "zoë"), groupName: () => "staff" };

const base: SourceStat = FILE_STAT;

/** The parent's node for an entry as an earlier backup stored it. */
function parentNode(name: Buffer, stat: SourceStat, i: number): Node {
  if (stat.type === "file") return nodeFromStat(accounts, name, stat, { chunks: [{ id: new Uint8Array(32).fill(i), sizeBytes: stat.sizeBytes }] });
  if (stat.type === "dir") return nodeFromStat(accounts, name, stat, { subtree: [new Uint8Array(32).fill(0x40 + i)] });
  if (stat.type === "symlink") return nodeFromStat(accounts, name, stat, { linkTarget: Buffer.from("target") });
  return nodeWithoutIo(accounts, name, stat, null)!;
}

const names = ["a", "b-dir", "c-link", "d-fifo", "e", "f", "g-dir"].map((n) => Buffer.from(n));
const stats: SourceStat[] = [
  base,
  { ...base, type: "dir", mode: 0o755, sizeBytes: 4096, inode: 41n, nlink: 2 },
  { ...base, type: "symlink", mode: 0o777, sizeBytes: 6, inode: 42n },
  { ...base, type: "fifo", sizeBytes: 0, inode: 43n },
  { ...base, inode: 44n },
  { ...base, inode: 45n },
  { ...base, type: "dir", inode: 46n, nlink: 3 },
];
const nodes = names.map((name, i) => parentNode(name, stats[i]!, i));
/** Three parts, one of them empty, as large directories are split. */
const parts = [encodeTreePart(nodes.slice(0, 2)), encodeTreePart([]), encodeTreePart(nodes.slice(2))];

function join(listNames: readonly Buffer[], listStats: readonly (SourceStat | { code: string })[]) {
  const match = matchParent(new AccountBytes(accounts), { names: listNames, stats: listStats }, parts);
  assert.ok(match !== null);
  const rows = listNames.map((_, i) => {
    const [part, start, end, same] = match.entries.subarray(i * MATCH_FIELDS, (i + 1) * MATCH_FIELDS);
    return { part: part!, same: same === 1, node: part! < 0 ? null : decodeTreeEntry(parts[part!]!.subarray(start, end)) };
  });
  return { match, rows };
}

test("an unchanged listing: every entry same, found in its part, its bytes decoding to the parent's node", () => {
  const { match, rows } = join(names, stats);
  assert.equal(match.unchanged, true);
  assert.deepEqual(rows.map((r) => r.part), [0, 0, 2, 2, 2, 2, 2]);
  rows.forEach((row, i) => {
    assert.equal(row.same, true, names[i]!.toString());
    assert.ok(row.node !== null && sameNode(row.node, nodes[i]!) && Buffer.compare(row.node.name, names[i]!) === 0);
  });
  assert.deepEqual(match.subtrees.map((ids) => ids.map((id) => id[0])), [[0x41], [0x46]]);
});

test("new, removed and changed entries: located where the parent has the name, same only where every field is", () => {
  // "a" removed, "a0" and "zz" new, "e" changed (mtime ns), "g-dir" changed (mode), one lstat failed.
  const listNames = [Buffer.from("a0"), ...names.slice(1), Buffer.from("zz")];
  const listStats: (SourceStat | { code: string })[] = [base, ...stats.slice(1), base];
  listStats[4] = { ...stats[4]!, mtimeNs: stats[4]!.mtimeNs + 1n }; // "e"
  listStats[5] = { code: "EACCES" }; // "f"
  listStats[6] = { ...stats[6]!, mode: 0o700 }; // "g-dir"
  const { match, rows } = join(listNames, listStats);
  assert.equal(match.unchanged, false);
  assert.deepEqual(
    rows.map((r) => [r.node === null ? null : Buffer.from(r.node.name).toString(), r.same]),
    [[null, false], ["b-dir", true], ["c-link", true], ["d-fifo", true], ["e", false], ["f", false], ["g-dir", false], [null, false]],
  );
  // Only the same directory's subtree is sent.
  assert.deepEqual(match.subtrees.map((ids) => ids.map((id) => id[0])), [[0x41]]);
  // The decoded entries of changed names are the parent's, for the walk's unchanged-file checks.
  assert.ok(sameNode(rows[4]!.node!, nodes[4]!));
});

test("a parent whose names are out of order, across parts too, is refused (the walk then decodes and reports it)", () => {
  const swapped = [encodeTreePart(nodes.slice(2)), encodeTreePart(nodes.slice(0, 2))];
  assert.equal(matchParent(new AccountBytes(accounts), { names, stats }, swapped), null);
  assert.equal(matchParent(new AccountBytes(accounts), { names, stats }, [encodeTreePart([nodes[1]!, nodes[0]!])]), null);
  assert.equal(matchParent(new AccountBytes(accounts), { names, stats }, [parts[0]!.subarray(0, 20)]), null, "truncated");
});
