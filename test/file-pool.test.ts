// Goal: a failure in the middle of a backup (the disk full while appending, a cancel) ends every
// pending file and listing with that error instead of hanging. Method: a real FilePool (one worker,
// so every file queues behind the failing one) whose hooks throw; all promises must settle, rejected.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FilePool, FileReadError, type FileHooks } from "../src/backup/file-pool.ts";
import type { SealedChunk } from "../src/backup/file-worker.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../src/chunker/params.ts";
import { Codec } from "../src/vault/compress.ts";
import { RecordKind } from "../src/vault/format.ts";
import { openBlob } from "../src/vault/open-record.ts";
import type { RecordKeys } from "../src/vault/record.ts";
import { SKIP_EIO_FS, startEioFs } from "./fault/eio-fs.ts";
import { assertChunkList } from "./helpers/chunk-list.ts";

/** Keys as a vault derives them (any 32/16 random bytes do: the records are never opened here). */
function newPool(): FilePool {
  const recordKeys = { vaultId: randomBytes(16), recordBase: randomBytes(32) };
  return new FilePool({ recordKeys, compressionLevel: 1, chunkerKey: randomBytes(32), blobIdKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT }, 1);
}

/** Settles within the limit or fails the test (a hang is the bug under test). */
async function settleWithin<T>(promises: Promise<T>[], ms: number): Promise<PromiseSettledResult<T>[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms: the pool hangs`)), ms);
  });
  try {
    return await Promise.race([Promise.allSettled(promises), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

for (const where of ["onChunks", "onSealed"] as const) {
  test(`FilePool: an error thrown by ${where} rejects every pending file and listing, and later work`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
    const pool = newPool();
    try {
      const source = join(dir, "src");
      mkdirSync(source);
      // Over the small-file size, so each file asks which chunks are new and waits for the answer.
      const paths = Array.from({ length: 12 }, (_, i) => {
        const path = join(source, `f${i}`);
        writeFileSync(path, randomBytes(600_000));
        return Buffer.from(path);
      });
      const full = Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      let calls = 0;
      const hooks: FileHooks = {
        onChunks: async (chunks) => {
          if (where === "onChunks" && ++calls === 2) throw full;
          return chunks.map(() => true);
        },
        onSealed: async () => {
          if (where === "onSealed" && ++calls === 2) throw full;
        },
      };
      const files = paths.map((path) => pool.backupFile(path, hooks));
      const results = await settleWithin<unknown>([...files, pool.listDirectory(Buffer.from(source))], 60_000);
      const rejected = results.filter((r) => r.status === "rejected");
      assert.ok(rejected.length >= paths.length - 2, `${rejected.length} of ${results.length} rejected`);
      for (const r of rejected) assert.equal((r as PromiseRejectedResult).reason, full);
      await assert.rejects(pool.backupFile(paths[0]!, hooks), (error) => error === full);
      await assert.rejects(pool.listDirectory(Buffer.from(source)), (error) => error === full);
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("FilePool: files and listings still pending when the pool is closed are rejected", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const pool = newPool();
  try {
    const path = join(dir, "big");
    writeFileSync(path, randomBytes(600_000));
    let answered!: () => void;
    const asked = new Promise<void>((resolve) => (answered = resolve));
    // The answer never comes (as when the caller gave up), so the file stays pending.
    const pending = pool.backupFile(Buffer.from(path), { onChunks: () => (answered(), new Promise<boolean[]>(() => {})), onSealed: async () => {} });
    await asked;
    const settled = settleWithin([pending], 10_000);
    await pool.close();
    const [result] = await settled;
    assert.equal(result!.status, "rejected");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every chunk, in file order, opens from its record (vault/open-record.ts) to the file's bytes at its offset. */
function assertChunksOpen(recordKeys: RecordKeys, order: readonly { id: Uint8Array; sizeBytes: number }[], recordOf: (id: Uint8Array) => Uint8Array, content: Buffer): void {
  const codec = new Codec();
  let at = 0;
  for (const chunk of order) {
    const raw = openBlob(recordKeys, codec, recordOf(chunk.id), chunk.id, RecordKind.data);
    assert.ok(raw instanceof Uint8Array, "record opens");
    assert.ok(Buffer.from(raw).equals(content.subarray(at, at + chunk.sizeBytes)), `chunk at ${at}`);
    at += chunk.sizeBytes;
  }
  assert.equal(at, content.byteLength);
}

// Goal: with two workers, a big file's blocks share their sealing (file-worker "offload"), and every
// needed chunk still reaches the hooks exactly once, a block's records in one onSealed call (backup.ts
// releases one byte reservation per call). Method: a 9 MiB random file through a two-worker pool that
// needs every chunk; the records must open (vault/open-record.ts) to the chunks' bytes.
test("FilePool: two workers seal one big file's chunks; each block's records arrive in one call, byte-exact", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const recordKeys = { vaultId: randomBytes(16), recordBase: randomBytes(32) };
  const pool = new FilePool({ recordKeys, compressionLevel: 1, chunkerKey: randomBytes(32), blobIdKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT }, 2);
  try {
    const path = join(dir, "big");
    const content = randomBytes(9 * 1024 * 1024);
    writeFileSync(path, content);
    const order: { id: Uint8Array; sizeBytes: number }[] = [];
    const blocks: number[] = [];
    const delivered: SealedChunk[][] = [];
    const hooks: FileHooks = {
      onChunks: async (chunks) => {
        for (const chunk of chunks) order.push({ id: chunk.id!, sizeBytes: chunk.sizeBytes });
        blocks.push(chunks.length);
        return chunks.map(() => true);
      },
      onSealed: async (sealed) => {
        delivered.push([...sealed]);
      },
    };
    const result = await pool.backupFile(Buffer.from(path), hooks);
    assert.equal(result.sizeBytes, content.byteLength);
    assert.deepEqual(delivered.map((call) => call.length), blocks, "one onSealed call per block, with all its chunks");
    const byId = new Map(delivered.flat().map((sealed) => [Buffer.from(sealed.id).toString("hex"), sealed]));
    assert.equal(byId.size, order.length, "every chunk delivered exactly once");
    assertChunksOpen(recordKeys, order, (id) => byId.get(Buffer.from(id).toString("hex"))!.record, content);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Goal: the chunks a worker hands to the other worker to seal are views of its own read buffers and
// segment windows (shared memory, no copy): it must not read into such a buffer again before the
// other worker has sealed from it. Method: a 20 MiB random file (cut on both workers) whose records
// are stored slowly, so each block's offload reaches the other worker late, while the owner reads on;
// every record must open to the chunk's bytes.
test("FilePool: chunks offloaded from shared read buffers are sealed before the buffer is read into again", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const recordKeys = { vaultId: randomBytes(16), recordBase: randomBytes(32) };
  const pool = new FilePool({ recordKeys, compressionLevel: 1, chunkerKey: randomBytes(32), blobIdKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT }, 2);
  try {
    const path = join(dir, "big");
    const content = randomBytes(20 * 1024 * 1024);
    writeFileSync(path, content);
    const order: { id: Uint8Array; sizeBytes: number }[] = [];
    const records = new Map<string, Uint8Array>();
    const hooks: FileHooks = {
      onChunks: async (chunks) => {
        for (const chunk of chunks) order.push({ id: chunk.id!, sizeBytes: chunk.sizeBytes });
        return chunks.map(() => true);
      },
      onSealed: async (sealed) => {
        for (const chunk of sealed) records.set(Buffer.from(chunk.id).toString("hex"), chunk.record);
        // A slow disk: the next block's offload is handed on only after this resolves.
        await new Promise((resolve) => setTimeout(resolve, 40));
      },
    };
    const result = await pool.backupFile(Buffer.from(path), hooks);
    assert.equal(result.sizeBytes, content.byteLength);
    assertChunksOpen(recordKeys, order, (id) => records.get(Buffer.from(id).toString("hex"))!, content);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Goal: a worker reads many files at once (16 in progress, 64 KiB heads, 4 block buffers), and every
// file still comes back whole whatever side of those sizes it falls on. Method: 48 random files
// around the head and block sizes through a one-worker pool that needs every chunk, all submitted
// at once (so the larger files queue for block buffers); each file's records must open to its bytes.
test("FilePool: many files in progress on one worker, around the head and block sizes, come back byte-exact", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const recordKeys = { vaultId: randomBytes(16), recordBase: randomBytes(32) };
  const pool = new FilePool({ recordKeys, compressionLevel: 1, chunkerKey: randomBytes(32), blobIdKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT }, 1);
  try {
    const sizes = [0, 1, 2047, 65_535, 65_536, 65_537, 200_000, 262_144, 300_000, 1_200_000, 2_500_000, 40];
    const contents = Array.from({ length: 48 }, (_, i) => randomBytes(sizes[i % sizes.length]!));
    const codec = new Codec();
    const files = contents.map(async (content, i) => {
      const path = join(dir, `f${i}`);
      writeFileSync(path, content);
      const order: { id: Uint8Array | null; sizeBytes: number }[] = [];
      const sealedById = new Map<string, SealedChunk>();
      const result = await pool.backupFile(Buffer.from(path), {
        onChunks: async (chunks) => {
          for (const chunk of chunks) order.push({ id: chunk.id, sizeBytes: chunk.sizeBytes });
          return chunks.map(() => true);
        },
        onSealed: async (sealed) => {
          for (const chunk of sealed) sealedById.set(Buffer.from(chunk.id).toString("hex"), chunk);
        },
      });
      assert.equal(result.sizeBytes, content.byteLength, `f${i} size`);
      const parts = order.map((chunk) => {
        // A chunk of zeros (a 1-byte file may be one) is a hole: no record.
        if (chunk.id === null) return new Uint8Array(chunk.sizeBytes);
        const sealed = sealedById.get(Buffer.from(chunk.id).toString("hex"));
        assert.ok(sealed !== undefined, `f${i}: every chunk sealed`);
        const raw = openBlob(recordKeys, codec, sealed.record, chunk.id, RecordKind.data);
        assert.ok(raw instanceof Uint8Array, `f${i}: record opens`);
        return raw;
      });
      assert.ok(Buffer.concat(parts).equals(content), `f${i} (${content.byteLength} bytes) byte-exact`);
    });
    await Promise.all(files);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Hooks that need only the chunks of every other block and answer each block late (so a worker
 * asks about its next blocks meanwhile), and keep what a restore needs: the chunk list and the
 * records by ID. With waitForRecords, an answer also waits until the records of every earlier block
 * with new chunks were delivered, like backup.ts's bytes budget when it is used up.
 */
function pipelineHooks(options: { waitForRecords: boolean }) {
  const order: { id: Uint8Array | null; sizeBytes: number }[] = [];
  const sealedById = new Map<string, SealedChunk>();
  let blocks = 0;
  /** Blocks asked about while an earlier block's new chunks were still on their way. */
  let askedAhead = 0;
  let deliveries = 0;
  const blocksWithNew: number[] = [];
  const deliveredWaiters: (() => void)[] = [];
  /** IDs answered as needed: each must be delivered, even when the file then fails. */
  const claimed = new Set<string>();
  const hooks: FileHooks = {
    onChunks: async (chunks) => {
      const block = blocks++;
      if (deliveries < blocksWithNew.length) askedAhead++;
      for (const chunk of chunks) order.push({ id: chunk.id, sizeBytes: chunk.sizeBytes });
      if (options.waitForRecords) {
        const earlier = blocksWithNew.length;
        while (deliveries < earlier) await new Promise<void>((resolve) => deliveredWaiters.push(resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const need = chunks.map((chunk) => block % 2 === 1 && chunk.id !== null);
      if (need.some(Boolean)) blocksWithNew.push(block);
      chunks.forEach((chunk, i) => need[i] && claimed.add(Buffer.from(chunk.id!).toString("hex")));
      return need;
    },
    onSealed: async (sealed) => {
      for (const chunk of sealed) sealedById.set(Buffer.from(chunk.id).toString("hex"), chunk);
      if (sealed.length > 0) deliveries++;
      for (const wake of deliveredWaiters.splice(0)) wake();
    },
  };
  return { hooks, order, sealedById, claimed, askedAhead: () => askedAhead };
}

// Goal: a worker reads, cuts and names a big file's next blocks while earlier blocks wait for their
// "which chunks are new?" answer, and the chunk list and records still come out in the file's order,
// whole, even when an answer waits for the records of earlier blocks (the bytes budget: handling a
// file's messages on one chain would deadlock there). Method: a 12 MiB file whose odd blocks are new
// and even blocks known, answered late, through one- and two-worker pools; the new chunks' records
// must open to the file's bytes at their place in the chunk list.
for (const workers of [1, 2]) {
  for (const waitForRecords of [false, true]) {
    test(`FilePool: ${workers} worker(s) ask about a big file's blocks ahead of the answers${waitForRecords ? ", answers waiting for earlier records" : ""}; chunk order and new chunks byte-exact`, { timeout: 120_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
      const recordKeys = { vaultId: randomBytes(16), recordBase: randomBytes(32) };
      const blobIdKey = randomBytes(32);
      const pool = new FilePool({ recordKeys, compressionLevel: 1, chunkerKey: randomBytes(32), blobIdKey, params: CHUNKER_PARAMS_DEFAULT }, workers);
      try {
        const path = join(dir, "big");
        const content = randomBytes(12 * 1024 * 1024);
        writeFileSync(path, content);
        const { hooks, order, sealedById, askedAhead } = pipelineHooks({ waitForRecords });
        const result = await settleWithin([pool.backupFile(Buffer.from(path), hooks)], 60_000);
        assert.equal(result[0]!.status, "fulfilled", String((result[0] as PromiseRejectedResult).reason));
        // Without waiting, the next block's question arrives before the records of the last answer.
        if (!waitForRecords) assert.ok(askedAhead() >= 2, `blocks asked about ahead of earlier records: ${askedAhead()}`);
        assert.equal(assertChunkList(order, sealedById, { recordKeys, blobIdKey }, content), content.byteLength, "the chunk list covers the file");
        const opened = order.filter((chunk) => chunk.id !== null && sealedById.has(Buffer.from(chunk.id).toString("hex"))).length;
        assert.equal(opened, sealedById.size, "every record delivered is a chunk of the file");
        assert.ok(opened > 0 && opened < order.length, `some chunks new, some known: ${opened} of ${order.length}`);
      } finally {
        await pool.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

// Goal: a file that shrinks or fails to read while blocks are waiting for their answers ends cleanly:
// the shrunk file resolves with the bytes as read, the failing one rejects with its read error (not a
// hang, not "chunks undelivered"), and every chunk claimed before the failure is delivered. Method: a
// 12 MiB file answered late (odd blocks new); truncated to 7 MiB when block 2 is asked about, or served
// by eio-fs with reads failing after 6 MiB.
test("FilePool: a big file truncated while blocks are in flight resolves with the bytes as read, byte-exact", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const keys = { recordKeys: { vaultId: randomBytes(16), recordBase: randomBytes(32) }, blobIdKey: randomBytes(32) };
  // The block path (no segments cut by the other worker): test/segmented-file.test.ts covers those.
  const pool = new FilePool({ ...keys, compressionLevel: 1, chunkerKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT, segmentBytes: Number.MAX_SAFE_INTEGER }, 2);
  try {
    const path = join(dir, "big");
    const content = randomBytes(12 * 1024 * 1024);
    writeFileSync(path, content);
    const { hooks, order, sealedById } = pipelineHooks({ waitForRecords: false });
    let asked = 0;
    const truncating: FileHooks = {
      onChunks: (chunks) => {
        if (++asked === 3) truncateSync(path, 7 * 1024 * 1024);
        return hooks.onChunks(chunks);
      },
      onSealed: hooks.onSealed,
    };
    const [result] = await settleWithin([pool.backupFile(Buffer.from(path), truncating)], 60_000);
    assert.equal(result!.status, "fulfilled", String((result as PromiseRejectedResult).reason));
    const { sizeBytes } = (result as PromiseFulfilledResult<{ sizeBytes: number }>).value;
    assert.ok(sizeBytes >= 3 * 1024 * 1024 && sizeBytes <= 7 * 1024 * 1024, `size as read: ${sizeBytes}`);
    assert.equal(assertChunkList(order, sealedById, keys, content), sizeBytes, "the chunk list covers the bytes read");
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("FilePool: a big file whose read fails while blocks are in flight rejects with EIO; chunks claimed before are delivered", { timeout: 120_000, skip: SKIP_EIO_FS }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const backing = join(dir, "backing");
  const mount = join(dir, "disk");
  mkdirSync(backing);
  const disk = await startEioFs(backing, mount);
  const keys = { recordKeys: { vaultId: randomBytes(16), recordBase: randomBytes(32) }, blobIdKey: randomBytes(32) };
  // The block path (no segments cut by the other worker): test/segmented-file.test.ts covers those.
  const pool = new FilePool({ ...keys, compressionLevel: 1, chunkerKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT, segmentBytes: Number.MAX_SAFE_INTEGER }, 2);
  try {
    const content = randomBytes(12 * 1024 * 1024);
    writeFileSync(join(backing, "big"), content);
    await disk.set({ failReads: { path: "/big", afterBytes: 6 * 1024 * 1024 } });
    const { hooks, order, sealedById, claimed } = pipelineHooks({ waitForRecords: false });
    const [result] = await settleWithin([pool.backupFile(Buffer.from(join(mount, "big")), hooks)], 60_000);
    assert.equal(result!.status, "rejected");
    const reason = (result as PromiseRejectedResult).reason as unknown;
    assert.ok(reason instanceof FileReadError && reason.code === "EIO", `rejected with the read error: ${String(reason)}`);
    assert.ok(order.length > 0 && sealedById.size > 0, "blocks before the failure were asked about and sealed");
    assert.deepEqual([...claimed].filter((id) => !sealedById.has(id)), [], "every chunk answered as needed was delivered");
    assertChunkList(order, sealedById, keys, content);
    // The pool goes on: the same file, healed, backs up whole.
    await disk.set({ clear: true });
    const again = pipelineHooks({ waitForRecords: false });
    const whole = await pool.backupFile(Buffer.from(join(mount, "big")), again.hooks);
    assert.equal(assertChunkList(again.order, again.sealedById, keys, content), whole.sizeBytes);
    assert.equal(whole.sizeBytes, content.byteLength);
  } finally {
    await pool.close();
    await disk.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Goal: a re-run that changes nothing, or only a few files, runs one file worker (an isolate costs
// ~0.15 CPU-s and ~12 MiB), and files queueing on it start the others, which then share the work.
// Method: a two-worker pool lists a directory 3 times (fewer slow listings than start the others,
// however busy the machine) and backs up two files one after the other, counting this process's
// threads; then backs up 140 files at once (more than QUEUED_BEFORE_OTHERS wait), each read whole.
test("FilePool: listings and a few files run on one worker; files queueing start the others", { timeout: 120_000, skip: process.platform !== "linux" }, async () => {
  const threads = (): number => readdirSync("/proc/self/task").length;
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const before = threads();
  const keys = { recordKeys: { vaultId: randomBytes(16), recordBase: randomBytes(32) }, blobIdKey: randomBytes(32) };
  const pool = new FilePool({ ...keys, compressionLevel: 1, chunkerKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT }, 2);
  try {
    const contents = Array.from({ length: 142 }, (_, i) => randomBytes(1_000 + i * 1_000));
    contents.forEach((content, i) => writeFileSync(join(dir, `f${String(i).padStart(3, "0")}`), content));
    for (let i = 0; i < 3; i++) {
      const listing = await pool.listDirectory(Buffer.from(dir));
      assert.ok(!("error" in listing));
      assert.equal(listing.names.length, contents.length);
    }
    const listed = threads();
    assert.ok(listed > before, "a worker runs the listings");
    const backUp = async (indexes: number[]): Promise<void> => {
      const runs = indexes.map(() => pipelineHooks({ waitForRecords: false }));
      const results = await Promise.all(indexes.map((f, i) => pool.backupFile(Buffer.from(join(dir, `f${String(f).padStart(3, "0")}`)), runs[i]!.hooks)));
      indexes.forEach((f, i) => {
        assert.equal(results[i]!.sizeBytes, contents[f]!.byteLength);
        assert.equal(assertChunkList(runs[i]!.order, runs[i]!.sealedById, keys, contents[f]!), contents[f]!.byteLength);
      });
    };
    await backUp([0]);
    await backUp([1]);
    assert.equal(threads(), listed, "two files one at a time ran on the first worker");
    await backUp(contents.slice(2).map((_, i) => i + 2));
    assert.ok(threads() > listed, "140 files at once started the second worker");
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Goal: listings that take long (a cold disk) start the other workers, so two list at once, with no
// file to read. Method: a directory of 20,000 empty files takes well over 15 ms to list (readdir and
// 20,000 lstats), even warm; after 4 such listings the two-worker pool runs one more thread.
test("FilePool: slow listings start the other workers", { timeout: 120_000, skip: process.platform !== "linux" }, async () => {
  const threads = (): number => readdirSync("/proc/self/task").length;
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const keys = { recordKeys: { vaultId: randomBytes(16), recordBase: randomBytes(32) }, blobIdKey: randomBytes(32) };
  const pool = new FilePool({ ...keys, compressionLevel: 1, chunkerKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT }, 2);
  try {
    for (let i = 0; i < 20_000; i++) writeFileSync(join(dir, `f${i}`), "");
    const first = await pool.listDirectory(Buffer.from(dir));
    assert.ok(!("error" in first) && first.names.length === 20_000);
    const oneWorker = threads();
    for (let i = 0; i < 3; i++) {
      const listing = await pool.listDirectory(Buffer.from(dir));
      assert.ok(!("error" in listing) && listing.names.length === 20_000);
    }
    assert.ok(threads() > oneWorker, "the fourth slow listing started the second worker");
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Goal: a small file's one message goes to onWhole, the synchronous step the backup takes per small
// file, and each of its answers ends the file right: true at once, false through onChunks and
// onSealed, a promise (the store's writes behind) only once it resolves; a throw fails every file.
// Method: small files through a one-worker pool, each file's hooks answering one way; every record
// must open to its file's bytes, and no file may end before its promise.
test("FilePool: onWhole stores a small file in one step; false falls back to onChunks/onSealed, a promise holds the file's end", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const recordKeys = { vaultId: randomBytes(16), recordBase: randomBytes(32) };
  const pool = new FilePool({ recordKeys, compressionLevel: 1, chunkerKey: randomBytes(32), blobIdKey: randomBytes(32), params: CHUNKER_PARAMS_DEFAULT }, 1);
  const codec = new Codec();
  try {
    const modes = ["stored", "fallback", "behind"] as const;
    const files = Array.from({ length: 24 }, (_, i) => {
      const path = join(dir, `f${i}`);
      const content = randomBytes(100 + i * 40);
      writeFileSync(path, content);
      return { path, content, mode: modes[i % 3]! };
    });
    let releaseWrites!: () => void;
    const writesCaughtUp = new Promise<void>((resolve) => (releaseWrites = resolve));
    let caughtUp = false;
    const calls = files.map(() => ({ whole: 0, chunks: 0, sealed: [] as SealedChunk[], ids: [] as (Uint8Array | null)[] }));
    const results = files.map((file, i) => {
      const call = calls[i]!;
      const hooks: FileHooks = {
        onChunks: async (chunks) => {
          call.chunks++;
          call.ids.push(...chunks.map((chunk) => chunk.id));
          return chunks.map(() => true);
        },
        onSealed: async (sealed) => {
          call.sealed.push(...sealed);
        },
        onWhole: (whole) => {
          call.whole++;
          if (file.mode === "fallback") return false;
          call.ids.push(...whole.chunks.map((chunk) => chunk.id));
          call.sealed.push(...whole.sealed.filter((sealed) => sealed !== null));
          return file.mode === "stored" ? true : writesCaughtUp;
        },
      };
      return pool.backupFile(Buffer.from(file.path), hooks).then((result) => {
        if (file.mode === "behind") assert.ok(caughtUp, `${file.path} ended before the store's writes caught up`);
        return result;
      });
    });
    // Every file not held by the writes ends while they are behind.
    const unheld = await settleWithin(results.filter((_, i) => files[i]!.mode !== "behind"), 60_000);
    for (const result of unheld) assert.equal(result.status, "fulfilled", String((result as PromiseRejectedResult).reason));
    caughtUp = true;
    releaseWrites();
    const all = await settleWithin(results, 60_000);
    files.forEach((file, i) => {
      const result = all[i]!;
      assert.equal(result.status, "fulfilled", String((result as PromiseRejectedResult).reason));
      assert.equal((result as PromiseFulfilledResult<{ sizeBytes: number }>).value.sizeBytes, file.content.byteLength);
      const call = calls[i]!;
      assert.equal(call.whole, 1, `${file.path}: one onWhole call`);
      assert.equal(call.chunks, file.mode === "fallback" ? 1 : 0, `${file.path}: onChunks only after onWhole said false`);
      assert.equal(call.ids.length, 1, `${file.path}: one chunk`);
      assert.equal(call.sealed.length, 1, `${file.path}: its record`);
      const raw = openBlob(recordKeys, codec, call.sealed[0]!.record, call.ids[0]!, RecordKind.data);
      assert.ok(raw instanceof Uint8Array && Buffer.from(raw).equals(file.content), `${file.path}: the record opens to its bytes`);
    });
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("FilePool: an error thrown by onWhole rejects every pending file, and later work", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-pool-"));
  const pool = newPool();
  try {
    const paths = Array.from({ length: 12 }, (_, i) => {
      const path = join(dir, `f${i}`);
      writeFileSync(path, randomBytes(500));
      return Buffer.from(path);
    });
    const full = Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    let calls = 0;
    const hooks: FileHooks = {
      onChunks: async (chunks) => chunks.map(() => true),
      onSealed: async () => {},
      onWhole: () => {
        if (++calls === 2) throw full;
        return true;
      },
    };
    const results = await settleWithin(paths.map((path) => pool.backupFile(path, hooks)), 60_000);
    const rejected = results.filter((r) => r.status === "rejected");
    assert.ok(rejected.length >= 1 && rejected.every((r) => (r as PromiseRejectedResult).reason === full), "the files left fail with the hook's error");
    assert.ok(results.length - rejected.length <= 1, "at most the file before the throw ended");
    await assert.rejects(pool.backupFile(paths[0]!, hooks), (error) => error === full);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
