import assert from "node:assert/strict";
import { test } from "node:test";
import type { BlobId } from "../core/ids.ts";
import type { Node } from "../core/types.ts";
import { TreeAhead } from "./tree-ahead.ts";

/** A store that counts reads per ID and answers with the ID's first byte. */
function countingStore() {
  const reads = new Map<number, number>();
  return {
    reads,
    getBlob(id: BlobId): Promise<Uint8Array> {
      reads.set(id[0]!, (reads.get(id[0]!) ?? 0) + 1);
      if (id[0] === 0xee) return Promise.reject(new Error("damaged tree"));
      return Promise.resolve(Uint8Array.of(id[0]!));
    },
  };
}

function id(byte: number): BlobId {
  return new Uint8Array(32).fill(byte) as BlobId;
}

function dir(...subtree: BlobId[]): Node {
  return { name: Uint8Array.of(0x61), type: "dir", subtree } as unknown as Node;
}

test("a subdirectory's tree is read once: asked for ahead, then handed to the walk", async () => {
  const store = countingStore();
  const trees = new TreeAhead(store);
  const a = id(1);
  const b = id(2);
  trees.readAhead([dir(a, b), { name: Uint8Array.of(0x62), type: "file" } as unknown as Node]);
  assert.deepEqual([...store.reads], [[1, 1], [2, 1]]);
  assert.deepEqual(await trees.getBlob(a), Uint8Array.of(1));
  assert.deepEqual(await trees.getBlob(b), Uint8Array.of(2));
  assert.deepEqual([...store.reads], [[1, 1], [2, 1]]);
  // Used once: a second read goes to the store again.
  await trees.getBlob(a);
  assert.equal(store.reads.get(1), 2);
});

test("a tree that fails to read ahead fails when the walk reads it, not before", async () => {
  const store = countingStore();
  const trees = new TreeAhead(store);
  const bad = id(0xee);
  trees.readAhead([dir(bad)]);
  await new Promise((resolve) => setImmediate(resolve));
  await assert.rejects(trees.getBlob(bad), /damaged tree/);
});

test("at most 256 tree parts wait; forgotten ones are read again and free room", async () => {
  const store = countingStore();
  const trees = new TreeAhead(store);
  const ids = Array.from({ length: 300 }, () => id(7));
  trees.readAhead([dir(...ids)]);
  assert.equal(store.reads.get(7), 256);
  trees.forget(ids.slice(0, 10));
  await trees.getBlob(ids[0]!);
  assert.equal(store.reads.get(7), 257, "a forgotten part is read again");
  trees.readAhead([dir(id(9))]);
  assert.equal(store.reads.get(9), 1, "forgetting made room");
});
