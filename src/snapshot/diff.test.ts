// Goal: diffTrees reports exactly the added/removed/modified/metadata/type changes between two trees, in pre-order, with raw-byte paths, and never reads unchanged subtrees or shared tree parts. Method: an in-memory sha256 BlobStore with a getBlob-counting wrapper, hand-built trees (multi-part, non-UTF-8) and a fast-check property (seed from SUEDE_FC_SEED, always logged) that replays the changes onto A's flattened tree and must obtain B's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomInt } from "node:crypto";
import fc from "fast-check";
import type { BlobId } from "../core/ids.ts";
import type { BlobKind, BlobStore, SealingSpec } from "../core/ports.ts";
import type { Node, NodeType } from "../core/types.ts";
import { type Change, diffTrees } from "./diff.ts";
import { compareNames, encodeTreePart, isPartBoundary } from "./tree-codec.ts";
import { readTree } from "./tree-reader.ts";

const envSeed = process.env["SUEDE_FC_SEED"];
const FC_SEED = envSeed === undefined ? randomInt(2 ** 31) : Number.parseInt(envSeed, 10);
assert.ok(Number.isSafeInteger(FC_SEED), `SUEDE_FC_SEED must be an integer, got ${envSeed}`);
const SEED_NOTE = `fast-check seed ${FC_SEED} (rerun with SUEDE_FC_SEED=${FC_SEED})`;

// ---------------------------------------------------------------------------------------------
// In-memory store

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const sha256 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash("sha256").update(bytes).digest());

class MemoryStore implements BlobStore {
  readonly blobs = new Map<string, Uint8Array>();
  hasBlob(id: BlobId): boolean {
    return this.blobs.has(hex(id));
  }
  async putBlob(_kind: BlobKind, id: BlobId, plaintext: Uint8Array): Promise<number> {
    if (this.blobs.has(hex(id))) return 0;
    this.blobs.set(hex(id), Uint8Array.from(plaintext));
    return plaintext.byteLength;
  }
  claimBlob(): boolean {
    throw new Error("not used");
  }
  putSealedBlob(): Promise<number> {
    throw new Error("not used");
  }
  sealingSpec(): SealingSpec {
    throw new Error("not used");
  }
  async getBlob(id: BlobId): Promise<Uint8Array> {
    const bytes = this.blobs.get(hex(id));
    if (bytes === undefined) throw new Error(`no blob ${hex(id)}`);
    return bytes;
  }
  blobId(plaintext: Uint8Array): BlobId {
    return sha256(plaintext);
  }
}

/** A store that records the hex ID of every getBlob call, delegating everything to inner. */
function counting(inner: BlobStore): { store: BlobStore; reads: string[] } {
  const reads: string[] = [];
  const store: BlobStore = {
    hasBlob: (id) => inner.hasBlob(id),
    putBlob: (kind, id, plaintext) => inner.putBlob(kind, id, plaintext),
    claimBlob: (id) => inner.claimBlob(id),
    putSealedBlob: (id, record, rawLength) => inner.putSealedBlob(id, record, rawLength),
    sealingSpec: () => inner.sealingSpec(),
    getBlob: (id) => {
      reads.push(hex(id));
      return inner.getBlob(id);
    },
    blobId: (plaintext) => inner.blobId(plaintext),
  };
  return { store, reads };
}

// ---------------------------------------------------------------------------------------------
// Tree building

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const nameBytes = (name: string | Uint8Array): Uint8Array => (typeof name === "string" ? enc(name) : name);

type Fields = { -readonly [K in keyof Node]?: Node[K] };

function baseNode(name: string | Uint8Array, type: NodeType, extra: Fields = {}): Node {
  return {
    name: nameBytes(name),
    type,
    mode: type === "dir" ? 0o755 : 0o644,
    uid: 1000,
    gid: 1000,
    user: "alice",
    group: "staff",
    mtimeNs: 1_700_000_000_000_000_000n,
    ctimeNs: 1_700_000_000_000_000_000n,
    inode: 42n,
    device: 2049n,
    nlink: 1,
    sizeBytes: 0,
    ...extra,
  };
}

function fileNode(name: string | Uint8Array, content: string, extra: Fields = {}): Node {
  const data = enc(content);
  return baseNode(name, "file", { sizeBytes: data.byteLength, chunks: data.byteLength === 0 ? [] : [{ id: sha256(data), sizeBytes: data.byteLength }], ...extra });
}

function symlinkNode(name: string | Uint8Array, target: string, extra: Fields = {}): Node {
  return baseNode(name, "symlink", { linkTarget: enc(target), sizeBytes: enc(target).byteLength, ...extra });
}

/** Stores a directory's entries as backup does: sorted by name, split at content-defined part boundaries. */
async function storeDir(store: BlobStore, children: readonly Node[]): Promise<BlobId[]> {
  const sorted = [...children].sort((a, b) => compareNames(a.name, b.name));
  const parts: BlobId[] = [];
  let part: Node[] = [];
  const flush = async (): Promise<void> => {
    const bytes = encodeTreePart(part);
    const id = store.blobId(bytes);
    await store.putBlob("tree", id, bytes);
    parts.push(id);
    part = [];
  };
  for (const node of sorted) {
    part.push(node);
    if (isPartBoundary(node.name, part.length)) await flush();
  }
  if (part.length > 0 || parts.length === 0) await flush();
  return parts;
}

async function dirNode(store: BlobStore, name: string | Uint8Array, children: readonly Node[], extra: Fields = {}): Promise<Node> {
  return baseNode(name, "dir", { subtree: await storeDir(store, children), ...extra });
}

async function collect(changes: AsyncIterable<Change>): Promise<Change[]> {
  const out: Change[] = [];
  for await (const c of changes) out.push(c);
  return out;
}

/** "kind /path" with the path shown as UTF-8 (tests with non-UTF-8 names compare bytes instead). */
const show = (c: Change): string => `${c.kind} ${Buffer.from(c.path).toString("utf8")}`;

// ---------------------------------------------------------------------------------------------
// Examples

test("diffTrees of identical trees yields nothing and reads nothing", async () => {
  const mem = new MemoryStore();
  const root = await storeDir(mem, [fileNode("a", "1"), await dirNode(mem, "d", [fileNode("x", "2")])]);
  const { store, reads } = counting(mem);
  assert.deepEqual(await collect(diffTrees(store, root, root)), []);
  assert.deepEqual(reads, []);
});

test("diffTrees classifies added, removed, modified, metadata and type changes", async () => {
  const mem = new MemoryStore();
  const before = await storeDir(mem, [
    fileNode("a", "same"),
    fileNode("b", "old content"),
    fileNode("c", "c"),
    await dirNode(mem, "d", [fileNode("inside", "x")]),
    symlinkNode("e", "/target/one"),
    fileNode("f", "gone"),
    baseNode("p", "fifo"),
  ]);
  const after = await storeDir(mem, [
    fileNode("a", "same"),
    fileNode("b", "new content"),
    fileNode("c", "c", { mode: 0o600 }),
    fileNode("d", "now a file"),
    symlinkNode("e", "/target/two"),
    fileNode("g", "new"),
    baseNode("p", "fifo", { uid: 0 }),
  ]);
  const changes = await collect(diffTrees(mem, before, after));
  assert.deepEqual(changes.map(show), ["modified /b", "metadata /c", "type /d", "metadata /e", "removed /f", "added /g", "metadata /p"]);
  const byPath = new Map(changes.map((c) => [show(c).split(" ")[1], c]));
  assert.equal(byPath.get("/f")!.after, null);
  assert.equal(byPath.get("/f")!.before!.type, "file");
  assert.equal(byPath.get("/g")!.before, null);
  assert.deepEqual([byPath.get("/d")!.before!.type, byPath.get("/d")!.after!.type], ["dir", "file"]);
  assert.deepEqual(byPath.get("/b")!.after!.chunks, fileNode("b", "new content").chunks);
});

test("diffTrees type change is reported once without the directory's children", async () => {
  const mem = new MemoryStore();
  const before = await storeDir(mem, [await dirNode(mem, "x", [fileNode("1", "1"), fileNode("2", "2")]), fileNode("y", "y")]);
  const after = await storeDir(mem, [symlinkNode("x", "elsewhere"), await dirNode(mem, "y", [fileNode("3", "3")])]);
  assert.deepEqual((await collect(diffTrees(mem, before, after))).map(show), ["type /x", "type /y"]);
});

test("diffTrees modified wins over metadata; every content field counts as modified", async () => {
  const mem = new MemoryStore();
  const a = fileNode("f", "abc");
  const variants: [string, Node][] = [
    ["chunk id", fileNode("f", "abd")],
    ["chunk size", { ...a, chunks: [{ id: a.chunks![0]!.id, sizeBytes: 4 }] }],
    ["chunk count", { ...a, chunks: [...a.chunks!, { id: a.chunks![0]!.id, sizeBytes: 3 }] }],
    ["size", { ...a, sizeBytes: 4 }],
    ["unreadable", { ...a, unreadable: "EACCES" }],
    ["content and mode", { ...fileNode("f", "xyz"), mode: 0o600 }],
  ];
  const root = await storeDir(mem, [a]);
  for (const [what, b] of variants) {
    const changes = await collect(diffTrees(mem, root, await storeDir(mem, [b])));
    assert.deepEqual(changes.map(show), ["modified /f"], what);
  }
});

test("diffTrees metadata covers mode, owner, names, mtime, link target, rdev, xattrs and sparse", async () => {
  const mem = new MemoryStore();
  const cases: [string, Node, Node][] = [
    ["mode", fileNode("n", "x"), fileNode("n", "x", { mode: 0o4755 })],
    ["uid", fileNode("n", "x"), fileNode("n", "x", { uid: 0 })],
    ["gid", fileNode("n", "x"), fileNode("n", "x", { gid: 0 })],
    ["user", fileNode("n", "x"), fileNode("n", "x", { user: "bob" })],
    ["group", fileNode("n", "x"), fileNode("n", "x", { group: "wheel" })],
    ["mtime", fileNode("n", "x"), fileNode("n", "x", { mtimeNs: 1n })],
    ["sparse", fileNode("n", "x"), fileNode("n", "x", { sparse: true })],
    ["xattr value", fileNode("n", "x", { xattrs: [[enc("user.k"), enc("1")]] }), fileNode("n", "x", { xattrs: [[enc("user.k"), enc("2")]] })],
    ["xattr added", fileNode("n", "x"), fileNode("n", "x", { xattrs: [[enc("user.k"), enc("1")]] })],
    ["link target", symlinkNode("n", "a"), symlinkNode("n", "b")],
    ["rdev", baseNode("n", "chardev", { rdev: 0x0501n }), baseNode("n", "chardev", { rdev: 0x0502n })],
    ["dir mode", await dirNode(mem, "n", []), await dirNode(mem, "n", [], { mode: 0o700 })],
  ];
  for (const [what, a, b] of cases) {
    const changes = await collect(diffTrees(mem, await storeDir(mem, [a]), await storeDir(mem, [b])));
    assert.deepEqual(changes.map(show), ["metadata /n"], what);
  }
});

test("diffTrees ignores ctime, inode, device, link count and directory size", async () => {
  const mem = new MemoryStore();
  const noise: Fields = { ctimeNs: 5n, inode: 7n, device: 9n, nlink: 3 };
  const before = await storeDir(mem, [fileNode("f", "x"), symlinkNode("l", "t"), await dirNode(mem, "d", [fileNode("g", "y")])]);
  const after = await storeDir(mem, [
    fileNode("f", "x", noise),
    symlinkNode("l", "t", noise),
    await dirNode(mem, "d", [fileNode("g", "y", noise)], { ...noise, sizeBytes: 4096 }),
  ]);
  assert.notEqual(hex(before[0]!), hex(after[0]!));
  assert.deepEqual(await collect(diffTrees(mem, before, after)), []);
});

test("diffTrees nested changes come in pre-order with the directory's own change first", async () => {
  const mem = new MemoryStore();
  const tree = async (leaf: string, dirMtime: bigint): Promise<BlobId[]> =>
    storeDir(mem, [
      fileNode("a", "a"),
      await dirNode(mem, "d1", [await dirNode(mem, "d2", [fileNode("f", leaf), fileNode("z", "z")]), fileNode("m", "m")], { mtimeNs: dirMtime }),
      fileNode("zz", "zz"),
    ]);
  const changes = await collect(diffTrees(mem, await tree("one", 1n), await tree("two", 2n)));
  assert.deepEqual(changes.map(show), ["metadata /d1", "modified /d1/d2/f"]);
});

test("diffTrees expandDirectories default lists every entry below added and removed directories", async () => {
  const mem = new MemoryStore();
  const deep = async (): Promise<Node> => dirNode(mem, "new", [fileNode("b", "b"), await dirNode(mem, "sub", [fileNode("c", "c")]), fileNode("a", "a")]);
  const before = await storeDir(mem, [await dirNode(mem, "old", [fileNode("x", "x"), await dirNode(mem, "y", [])])]);
  const after = await storeDir(mem, [await deep()]);
  assert.deepEqual((await collect(diffTrees(mem, before, after))).map(show), [
    "added /new",
    "added /new/a",
    "added /new/b",
    "added /new/sub",
    "added /new/sub/c",
    "removed /old",
    "removed /old/x",
    "removed /old/y",
  ]);
  assert.deepEqual((await collect(diffTrees(mem, before, after, { expandDirectories: false }))).map(show), ["added /new", "removed /old"]);
  // Without expansion nothing below the two directories is read: only the two root parts.
  const { store, reads } = counting(mem);
  await collect(diffTrees(store, before, after, { expandDirectories: false }));
  assert.equal(reads.length, 2);
});

test("diffTrees skips an unchanged subtree without reading it", async () => {
  const mem = new MemoryStore();
  const big = await dirNode(mem, "big", [
    await dirNode(mem, "deeper", Array.from({ length: 50 }, (_, i) => fileNode(`f${i}`, `content ${i}`))),
    ...Array.from({ length: 30 }, (_, i) => fileNode(`g${i}`, `g ${i}`)),
  ]);
  const before = await storeDir(mem, [big, await dirNode(mem, "small", [fileNode("file", "v1")])]);
  const after = await storeDir(mem, [big, await dirNode(mem, "small", [fileNode("file", "v2")])]);
  const { store, reads } = counting(mem);
  const changes = await collect(diffTrees(store, before, after));
  assert.deepEqual(changes.map(show), ["modified /small/file"]);
  // Two root parts and the two versions of /small; nothing of /big.
  assert.equal(reads.length, 4);
  const bigParts = new Set<string>();
  const walk = async (parts: readonly BlobId[]): Promise<void> => {
    for (const id of parts) bigParts.add(hex(id));
    for await (const n of readTree(mem, parts)) if (n.type === "dir") await walk(n.subtree ?? []);
  };
  await walk(big.subtree!);
  assert.ok(bigParts.size >= 2);
  assert.ok(reads.every((id) => !bigParts.has(id)));
});

/** 3000 files named n00000…, some skipped, so the directory spans several parts. */
function manyFiles(count: number, skip: ReadonlySet<number> = new Set()): Node[] {
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) if (!skip.has(i)) nodes.push(fileNode(`n${String(i).padStart(5, "0")}`, `body ${i}`));
  return nodes;
}

/** Parts of the list that are not in the other list (what diffTrees has to read). */
const unshared = (a: readonly BlobId[], b: readonly BlobId[]): number => a.filter((id) => !b.some((other) => hex(other) === hex(id))).length;

test("diffTrees multi-part directory: an insertion in the middle reads only the parts it touched", async () => {
  const mem = new MemoryStore();
  const beforeEntries = manyFiles(3000, new Set([1500]));
  const before = await storeDir(mem, beforeEntries);
  const after = await storeDir(mem, manyFiles(3000));
  assert.ok(before.length >= 2, `expected several parts, got ${before.length}`);
  const toRead = unshared(before, after) + unshared(after, before);
  assert.ok(toRead < before.length + after.length, "the insertion should leave some parts shared");
  const { store, reads } = counting(mem);
  const changes = await collect(diffTrees(store, before, after));
  assert.deepEqual(changes.map(show), ["added /n01500"]);
  assert.equal(reads.length, toRead);
  // The same inside a nested directory.
  const rootBefore = await storeDir(mem, [await dirNode(mem, "huge", beforeEntries), fileNode("other", "o")]);
  const rootAfter = await storeDir(mem, [await dirNode(mem, "huge", manyFiles(3000)), fileNode("other", "o")]);
  const nested = counting(mem);
  assert.deepEqual((await collect(diffTrees(nested.store, rootBefore, rootAfter))).map(show), ["added /huge/n01500"]);
  assert.equal(nested.reads.length, 2 + toRead);
});

test("diffTrees multi-part directory: removals, edits and many insertions across parts", async () => {
  const mem = new MemoryStore();
  const beforeEntries = manyFiles(3000);
  const afterEntries = manyFiles(3000, new Set([10, 2999]))
    .map((n) => (Buffer.from(n.name).toString() === "n01234" ? fileNode("n01234", "edited") : n))
    .concat(["n00000x", "n00600x", "n01200x", "n01800x", "n02400x"].map((name) => fileNode(name, "inserted")));
  const before = await storeDir(mem, beforeEntries);
  const after = await storeDir(mem, afterEntries);
  const changes = await collect(diffTrees(mem, before, after));
  assert.deepEqual(changes.map(show), [
    "added /n00000x",
    "removed /n00010",
    "added /n00600x",
    "modified /n01234",
    "added /n01200x",
    "added /n01800x",
    "added /n02400x",
    "removed /n02999",
  ].sort((a, b) => compareNames(enc(a.split(" ")[1]!), enc(b.split(" ")[1]!))));
});

test("diffTrees keeps non-UTF-8 names as raw bytes, in byte order", async () => {
  const mem = new MemoryStore();
  const latin1 = Uint8Array.of(0x63, 0x61, 0x66, 0xe9); // "café" in Latin-1
  const invalid = Uint8Array.of(0xff, 0xfe);
  const high = Uint8Array.of(0x80);
  const before = await storeDir(mem, [fileNode(latin1, "1"), await dirNode(mem, invalid, [fileNode(high, "x")])]);
  const after = await storeDir(mem, [fileNode(latin1, "2"), await dirNode(mem, invalid, [fileNode(high, "y"), fileNode("a", "a")]), fileNode(high, "z")]);
  const changes = await collect(diffTrees(mem, before, after, { basePath: enc("/srv") }));
  const slash = Uint8Array.of(0x2f);
  const cat = (...parts: Uint8Array[]): string => hex(Buffer.concat(parts));
  assert.deepEqual(
    changes.map((c) => [c.kind, hex(c.path)]),
    [
      ["modified", cat(enc("/srv"), slash, latin1)],
      ["added", cat(enc("/srv"), slash, high)],
      ["added", cat(enc("/srv"), slash, invalid, slash, enc("a"))],
      ["modified", cat(enc("/srv"), slash, invalid, slash, high)],
    ],
  );
  assert.ok(changes.every((c) => Object.getPrototypeOf(c.path) === Uint8Array.prototype));
});

test("diffTrees basePath prefixes every path; \"/\" and empty both mean the root", async () => {
  const mem = new MemoryStore();
  const before = await storeDir(mem, [fileNode("x", "1")]);
  const after = await storeDir(mem, [fileNode("x", "2")]);
  assert.deepEqual((await collect(diffTrees(mem, before, after, { basePath: enc("/home/user") }))).map(show), ["modified /home/user/x"]);
  assert.deepEqual((await collect(diffTrees(mem, before, after, { basePath: enc("/") }))).map(show), ["modified /x"]);
  assert.deepEqual((await collect(diffTrees(mem, before, after, { basePath: new Uint8Array(0) }))).map(show), ["modified /x"]);
});

test("diffTrees empty trees on either side (no parts, or one empty part)", async () => {
  const mem = new MemoryStore();
  const empty = await storeDir(mem, []);
  const one = await storeDir(mem, [fileNode("x", "1")]);
  assert.deepEqual((await collect(diffTrees(mem, [], one))).map(show), ["added /x"]);
  assert.deepEqual((await collect(diffTrees(mem, one, empty))).map(show), ["removed /x"]);
  assert.deepEqual(await collect(diffTrees(mem, empty, [])), []);
});

test("diffTrees stops reading when the consumer stops", async () => {
  const mem = new MemoryStore();
  const before = await storeDir(mem, []);
  const after = await storeDir(mem, [await dirNode(mem, "a", manyFiles(3000)), fileNode("b", "b")]);
  const { store, reads } = counting(mem);
  for await (const change of diffTrees(store, before, after)) {
    assert.equal(show(change), "added /a");
    break;
  }
  assert.equal(reads.length, 2); // both root parts; nothing below /a
});

test("diffTrees reports a corrupt tree part through the store's error", async () => {
  const mem = new MemoryStore();
  const bad = mem.blobId(Uint8Array.of(1, 2, 3));
  await mem.putBlob("tree", bad, Uint8Array.of(1, 2, 3));
  await assert.rejects(collect(diffTrees(mem, [], [bad])), /does not decode/);
});

// ---------------------------------------------------------------------------------------------
// Property: replaying the changes on A gives B

const NAME_POOL: readonly Uint8Array[] = [enc("a"), enc("b"), enc("c"), enc("é"), Uint8Array.of(0xff), Uint8Array.of(0x80, 0x61), enc("a.b"), enc("Z")];

interface MetaSpec {
  readonly mode: number;
  readonly uid: number;
  readonly mtime: number;
  readonly noise: number;
  readonly xattr: number;
}
type EntrySpec =
  | { readonly t: "file"; readonly content: number; readonly meta: MetaSpec }
  | { readonly t: "symlink"; readonly target: number; readonly meta: MetaSpec }
  | { readonly t: "fifo"; readonly meta: MetaSpec }
  | { readonly t: "dir"; readonly children: DirSpec; readonly meta: MetaSpec };
type DirSpec = readonly { readonly name: number; readonly entry: EntrySpec }[];

const metaArb: fc.Arbitrary<MetaSpec> = fc.record({ mode: fc.nat(1), uid: fc.nat(1), mtime: fc.nat(1), noise: fc.nat(2), xattr: fc.nat(1) });
const trees = fc.letrec<{ entry: EntrySpec; dir: DirSpec }>((tie) => ({
  entry: fc.oneof(
    { maxDepth: 4, depthIdentifier: "tree" },
    fc.record({ t: fc.constant("file" as const), content: fc.nat(2), meta: metaArb }),
    fc.record({ t: fc.constant("symlink" as const), target: fc.nat(1), meta: metaArb }),
    fc.record({ t: fc.constant("fifo" as const), meta: metaArb }),
    fc.record({ t: fc.constant("dir" as const), children: tie("dir"), meta: metaArb }),
  ),
  dir: fc.uniqueArray(fc.record({ name: fc.nat(NAME_POOL.length - 1), entry: tie("entry") }), { selector: (e) => e.name, maxLength: 5, depthIdentifier: "tree" }),
}));

/**
 * B from A and C: per name, keep A's entry (0), take C's (1), drop it (2), mix the children of two
 * directories (3), or keep A's with new ctime/inode/device/nlink (4), new file content (5) or a new mode (6).
 */
function mix(a: DirSpec, c: DirSpec, choices: readonly number[], cursor: { i: number }): DirSpec {
  const names = [...new Set([...a.map((e) => e.name), ...c.map((e) => e.name)])];
  const out: { name: number; entry: EntrySpec }[] = [];
  for (const name of names) {
    const ea = a.find((e) => e.name === name)?.entry;
    const ec = c.find((e) => e.name === name)?.entry;
    const choice = choices[cursor.i++ % choices.length]!;
    if (choice === 3 && ea?.t === "dir" && ec?.t === "dir") out.push({ name, entry: { ...ea, children: mix(ea.children, ec.children, choices, cursor) } });
    else if (choice === 1 && ec !== undefined) out.push({ name, entry: ec });
    else if (choice === 2) continue;
    else if (choice === 4 && ea !== undefined) out.push({ name, entry: { ...ea, meta: { ...ea.meta, noise: (ea.meta.noise + 1) % 3 } } });
    else if (choice === 5 && ea?.t === "file") out.push({ name, entry: { ...ea, content: (ea.content + 1) % 3 } });
    else if (choice === 6 && ea !== undefined) out.push({ name, entry: { ...ea, meta: { ...ea.meta, mode: 1 - ea.meta.mode } } });
    else if (ea !== undefined) out.push({ name, entry: ea });
  }
  return out;
}

async function buildSpec(store: BlobStore, spec: DirSpec): Promise<BlobId[]> {
  const nodes: Node[] = [];
  for (const { name, entry } of spec) {
    const m = entry.meta;
    const extra: Fields = {
      mode: m.mode === 0 ? 0o644 : 0o600,
      uid: 1000 + m.uid,
      mtimeNs: BigInt(m.mtime),
      ctimeNs: BigInt(m.noise),
      inode: BigInt(m.noise * 7),
      device: BigInt(m.noise * 3),
      nlink: 1 + m.noise,
      ...(m.xattr === 1 ? { xattrs: [[enc("user.k"), enc("v")] as const] } : {}),
    };
    const nb = NAME_POOL[name]!;
    if (entry.t === "file") nodes.push(fileNode(nb, `content ${entry.content}`, extra));
    else if (entry.t === "symlink") nodes.push(symlinkNode(nb, `target ${entry.target}`, extra));
    else if (entry.t === "fifo") nodes.push(baseNode(nb, "fifo", extra));
    else nodes.push(baseNode(nb, "dir", { ...extra, subtree: await buildSpec(store, entry.children) }));
  }
  return storeDir(store, nodes);
}

/** Every entry below a root, by hex of its absolute path ("/"-joined names). */
async function flatten(store: BlobStore, parts: readonly BlobId[], prefix = ""): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  for await (const node of readTree(store, parts)) {
    const key = `${prefix}2f${hex(node.name)}`;
    out.set(key, node);
    if (node.type === "dir") for (const [k, v] of await flatten(store, node.subtree ?? [], key)) out.set(k, v);
  }
  return out;
}

/** What diff compares: everything but ctime, inode, device, nlink, subtree and a directory's size. */
function comparable(n: Node): unknown {
  return {
    type: n.type,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    user: n.user,
    group: n.group,
    mtimeNs: n.mtimeNs,
    sparse: n.sparse ?? false,
    linkTarget: n.linkTarget === undefined ? null : hex(n.linkTarget),
    rdev: n.rdev ?? null,
    xattrs: (n.xattrs ?? []).map(([k, v]) => [hex(k), hex(v)]),
    content: n.type === "file" ? { size: n.sizeBytes, unreadable: n.unreadable ?? null, chunks: (n.chunks ?? []).map((c) => [hex(c.id), c.sizeBytes]) } : null,
  };
}
const contentOf = (n: Node): unknown => (comparable(n) as { content: unknown }).content;

const isBelow = (key: string, ancestor: string): boolean => key.startsWith(`${ancestor}2f`);

/** Pre-order position: component-wise name order, an ancestor before its descendants. */
function preOrder(a: Uint8Array, b: Uint8Array): number {
  const split = (p: Uint8Array): Buffer[] => Buffer.from(p).toString("latin1").split("/").slice(1).map((s) => Buffer.from(s, "latin1"));
  const ca = split(a);
  const cb = split(b);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const order = compareNames(ca[i]!, cb[i]!);
    if (order !== 0) return order;
  }
  return ca.length - cb.length;
}

test("diffTrees property: replaying the changes on A's flattened tree yields B's", async () => {
  await fc.assert(
    fc.asyncProperty(trees.dir, trees.dir, fc.array(fc.nat(6), { minLength: 1, maxLength: 40 }), async (specA, specC, choices) => {
      const specB = mix(specA, specC, choices, { i: 0 });
      const mem = new MemoryStore();
      const rootA = await buildSpec(mem, specA);
      const rootB = await buildSpec(mem, specB);
      const flatA = await flatten(mem, rootA);
      const flatB = await flatten(mem, rootB);
      const changes = await collect(diffTrees(mem, rootA, rootB));

      const state = new Map(flatA);
      const typeChanged: string[] = [];
      for (const c of changes) {
        const key = hex(c.path);
        const a = flatA.get(key);
        const b = flatB.get(key);
        switch (c.kind) {
          case "added":
            assert.ok(a === undefined && b !== undefined && c.before === null && c.after !== null);
            assert.ok(!state.has(key));
            state.set(key, c.after);
            break;
          case "removed":
            assert.ok(a !== undefined && b === undefined && c.before !== null && c.after === null);
            assert.ok(state.delete(key));
            break;
          case "type":
            assert.ok(a !== undefined && b !== undefined && a.type !== b.type);
            state.set(key, c.after!);
            for (const k of [...state.keys()]) if (isBelow(k, key)) state.delete(k);
            typeChanged.push(key);
            break;
          case "modified":
            assert.ok(a !== undefined && b !== undefined && a.type === "file" && b.type === "file");
            assert.notDeepEqual(contentOf(a), contentOf(b));
            state.set(key, c.after!);
            break;
          case "metadata":
            assert.ok(a !== undefined && b !== undefined && a.type === b.type);
            assert.deepEqual(contentOf(a), contentOf(b));
            assert.notDeepEqual(comparable(a), comparable(b));
            state.set(key, c.after!);
            break;
        }
        assert.ok(!typeChanged.some((t) => isBelow(key, t)), "no change is reported below a type change");
      }
      for (let i = 1; i < changes.length; i++) assert.ok(preOrder(changes[i - 1]!.path, changes[i]!.path) < 0, "changes come in pre-order");

      const view = (m: Map<string, Node>): [string, unknown][] =>
        [...m].filter(([k]) => !typeChanged.some((t) => isBelow(k, t))).map(([k, n]): [string, unknown] => [k, comparable(n)]).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
      assert.deepEqual(view(state), view(flatB));

      // Without expansion: the same changes minus those below an added or removed directory.
      const shallow = await collect(diffTrees(mem, rootA, rootB, { expandDirectories: false }));
      const wholeDirs = changes.filter((c) => (c.kind === "added" || c.kind === "removed") && (c.after ?? c.before)!.type === "dir").map((c) => hex(c.path));
      assert.deepEqual(
        shallow.map((c) => [c.kind, hex(c.path)]),
        changes.filter((c) => !wholeDirs.some((d) => isBelow(hex(c.path), d))).map((c) => [c.kind, hex(c.path)]),
      );
    }),
    { seed: FC_SEED, numRuns: 300 },
  );
  console.log(SEED_NOTE);
});
