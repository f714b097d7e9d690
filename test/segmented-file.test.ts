// Goal: one big file cut on two workers (file-worker.ts readSegmented, chunker/segments.ts) gives the
// same chunk list as one worker, so dedup across snapshots and vaults holds; its new chunks' records
// are its bytes; a file that shrinks or fails to read with segments in flight ends cleanly, no hang.
// Method: real FilePools with the same keys, one worker (block by block) against two (segments of an
// odd size, so cut points rarely fall on segment starts), over content with zero runs and repeats;
// an edit answered by what the first run stored; and a CLI backup, edit, backup, restore at the
// default segment size.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FilePool, FileReadError, type FileHooks } from "../src/backup/file-pool.ts";
import type { ChunkInfo, FileWorkerData, SealedChunk } from "../src/backup/file-worker.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../src/chunker/params.ts";
import { SEGMENT_BYTES } from "../src/util/limits.ts";
import { SKIP_EIO_FS, startEioFs } from "./fault/eio-fs.ts";
import { assertChunkList } from "./helpers/chunk-list.ts";
import { backupJson, initVault, suedeOk } from "./helpers/cli.ts";

const MIB = 1024 * 1024;
/** Small and odd, so a 20 MiB file has many helped segments and a chain rarely starts on one. */
const SEGMENT = MIB + 4097;

function keys(): Omit<FileWorkerData, "workerCount"> {
  return { recordKeys: { vaultId: randomBytes(16), recordBase: randomBytes(32) }, compressionLevel: 1, chunkerKey: randomBytes(32), blobIdKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT };
}

/** Random stretches, a zero run (speculative cuts stay off the true ones through it) and a repeat. */
function content(sizeBytes: number): Buffer {
  const head = randomBytes(6 * MIB);
  const parts = [head, Buffer.alloc(3 * MIB + 777), randomBytes(4 * MIB), head.subarray(0, 3 * MIB)];
  const used = parts.reduce((sum, part) => sum + part.byteLength, 0);
  return Buffer.concat([...parts, randomBytes(sizeBytes - used)]);
}

const hex = (id: Uint8Array) => Buffer.from(id).toString("hex");

/** Hooks that need every chunk not in `known` (nor already asked for), like the vault's index. */
function storeHooks(known: ReadonlySet<string>) {
  const order: ChunkInfo[] = [];
  const sealedById = new Map<string, SealedChunk>();
  const claimed = new Set<string>();
  const hooks: FileHooks = {
    onChunks: async (chunks) => {
      order.push(...chunks);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return chunks.map((chunk) => {
        if (chunk.id === null || known.has(hex(chunk.id)) || claimed.has(hex(chunk.id))) return false;
        claimed.add(hex(chunk.id));
        return true;
      });
    },
    onSealed: async (sealed) => {
      for (const chunk of sealed) sealedById.set(hex(chunk.id), chunk);
    },
  };
  return { hooks, order, sealedById, claimed };
}

/** assertChunkList, and every chunk answered as needed was delivered. Returns the bytes covered. */
function assertChunks(run: ReturnType<typeof storeHooks>, known: ReadonlySet<string>, data: FileWorkerData, bytes: Uint8Array): number {
  const covered = assertChunkList(run.order, run.sealedById, data, bytes, known);
  assert.deepEqual([...run.claimed].filter((id) => !run.sealedById.has(id)), [], "every chunk answered as needed was delivered");
  return covered;
}

const list = (order: readonly ChunkInfo[]) => order.map((chunk) => `${chunk.id === null ? "hole" : hex(chunk.id)}:${chunk.sizeBytes}`);

test("segmented: two workers cut a multi-segment file into the one-worker chunk list, before and after an edit; new chunks byte-exact", { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-segmented-"));
  const data = keys();
  const one = new FilePool(data, 1);
  const two = new FilePool({ ...data, segmentBytes: SEGMENT }, 2);
  try {
    const path = join(dir, "big");
    const v1 = content(20 * MIB + 12345);
    writeFileSync(path, v1);
    const first = storeHooks(new Set());
    assert.equal((await two.backupFile(Buffer.from(path), first.hooks)).sizeBytes, v1.byteLength);
    assert.equal(assertChunks(first, new Set(), data, v1), v1.byteLength);
    const reference = storeHooks(new Set());
    await one.backupFile(Buffer.from(path), reference.hooks);
    assert.deepEqual(list(first.order), list(reference.order), "same chunk IDs and sizes as one worker");

    // The edit of the bench: 4 KiB overwrites and an insertion in the middle; only its chunks are new.
    const known = new Set(first.order.flatMap((chunk) => (chunk.id === null ? [] : [hex(chunk.id)])));
    const overwritten = Buffer.from(v1);
    for (const at of [100_000, 5 * MIB + 3, 9 * MIB, 15 * MIB + 99]) randomBytes(4096).copy(overwritten, at);
    const v2 = Buffer.concat([overwritten.subarray(0, 11 * MIB + 5), randomBytes(300_000), overwritten.subarray(11 * MIB + 5)]);
    writeFileSync(path, v2);
    const second = storeHooks(known);
    assert.equal((await two.backupFile(Buffer.from(path), second.hooks)).sizeBytes, v2.byteLength);
    assert.equal(assertChunks(second, known, data, v2), v2.byteLength);
    const newBytes = second.order.filter((chunk) => chunk.id !== null && second.claimed.has(hex(chunk.id))).reduce((sum, chunk) => sum + chunk.sizeBytes, 0);
    assert.ok(newBytes > 300_000 && newBytes < 2 * MIB, `only the edited regions are new: ${newBytes} bytes`);
    const again = storeHooks(known);
    await one.backupFile(Buffer.from(path), again.hooks);
    assert.deepEqual(list(second.order), list(again.order), "same chunk IDs and sizes as one worker after the edit");
  } finally {
    await Promise.all([one.close(), two.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("segmented: a file truncated while segments are in flight resolves with the bytes as read, byte-exact", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-segmented-"));
  const data = keys();
  const pool = new FilePool({ ...data, segmentBytes: SEGMENT }, 2);
  try {
    const path = join(dir, "big");
    const bytes = content(20 * MIB);
    writeFileSync(path, bytes);
    const run = storeHooks(new Set());
    let asked = 0;
    const truncating: FileHooks = {
      onChunks: (chunks) => {
        if (++asked === 2) truncateSync(path, 7 * MIB + 500_000);
        return run.hooks.onChunks(chunks);
      },
      onSealed: run.hooks.onSealed,
    };
    const { sizeBytes } = await pool.backupFile(Buffer.from(path), truncating);
    assert.ok(sizeBytes >= MIB && sizeBytes <= 20 * MIB, `size as read: ${sizeBytes}`);
    assert.equal(assertChunks(run, new Set(), data, bytes), sizeBytes, "the chunk list covers the bytes read");
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("segmented: a read failing with segments in flight rejects with EIO, claimed chunks delivered; healed, the file backs up whole", { timeout: 120_000, skip: SKIP_EIO_FS }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-segmented-"));
  const backing = join(dir, "backing");
  const mount = join(dir, "disk");
  mkdirSync(backing);
  const disk = await startEioFs(backing, mount);
  const data = keys();
  const pool = new FilePool({ ...data, segmentBytes: SEGMENT }, 2);
  try {
    const bytes = content(20 * MIB);
    writeFileSync(join(backing, "big"), bytes);
    await disk.set({ failReads: { path: "/big", afterBytes: 9 * MIB } });
    const failing = storeHooks(new Set());
    const outcome = await Promise.race([
      pool.backupFile(Buffer.from(join(mount, "big")), failing.hooks).then(
        () => "resolved",
        (error: unknown) => error,
      ),
      new Promise((resolve) => setTimeout(() => resolve("still pending after 60 s: a hang"), 60_000).unref()),
    ]);
    assert.ok(outcome instanceof FileReadError && outcome.code === "EIO", `rejected with the read error: ${String(outcome)}`);
    assertChunks(failing, new Set(), data, bytes);
    await disk.set({ clear: true });
    const healed = storeHooks(new Set());
    const whole = await pool.backupFile(Buffer.from(join(mount, "big")), healed.hooks);
    assert.equal(whole.sizeBytes, bytes.byteLength);
    assert.equal(assertChunks(healed, new Set(), data, bytes), bytes.byteLength);
  } finally {
    await pool.close();
    await disk.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("segmented: CLI backup of a file of several default segments, edit, backup again: only the edit is added, both snapshots restore byte-exact", { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-segmented-"));
  try {
    const source = join(dir, "src");
    mkdirSync(source);
    const path = join(source, "big.bin");
    const v1 = content(Math.max(4 * SEGMENT_BYTES, 16 * MIB) + 3 * MIB + 1);
    writeFileSync(path, v1);
    const vault = join(dir, "v.vault");
    await initVault(vault);
    await backupJson(vault, [source]);
    const edited = Buffer.from(v1);
    randomBytes(4096).copy(edited, 13 * MIB + 1000);
    const v2 = Buffer.concat([edited.subarray(0, SEGMENT_BYTES + 12345), randomBytes(MIB), edited.subarray(SEGMENT_BYTES + 12345)]);
    writeFileSync(path, v2);
    const second = await backupJson(vault, [source]);
    assert.ok(second.bytesAdded < 3 * MIB, `an edit of 1 MiB + 4 KiB adds ${second.bytesAdded} bytes`);
    for (const [snapshot, bytes] of [
      ["1", v1],
      ["2", v2],
    ] as const) {
      const target = join(dir, `restore${snapshot}`);
      await suedeOk(["restore", vault, snapshot, "--target", target]);
      const restored = readFileSync(join(target, source, "big.bin"));
      assert.equal(createHash("sha256").update(restored).digest("hex"), createHash("sha256").update(bytes).digest("hex"), `snapshot ${snapshot} byte-exact`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
