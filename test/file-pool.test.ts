// Goal: a failure in the middle of a backup (the disk full while appending, a cancel) ends every
// pending file and listing with that error instead of hanging. Method: a real FilePool (one worker,
// so every file queues behind the failing one) whose hooks throw; all promises must settle, rejected.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FilePool, type FileHooks } from "../src/backup/file-pool.ts";
import type { SealedChunk } from "../src/backup/file-worker.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../src/chunker/params.ts";
import { Codec } from "../src/vault/compress.ts";
import { RecordKind } from "../src/vault/format.ts";
import { openBlob } from "../src/vault/open-record.ts";

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
    const codec = new Codec();
    let at = 0;
    for (const chunk of order) {
      const sealed = byId.get(Buffer.from(chunk.id).toString("hex"))!;
      const raw = openBlob(recordKeys, codec, sealed.record, chunk.id, RecordKind.data);
      assert.ok(raw instanceof Uint8Array, "record opens");
      assert.ok(Buffer.from(raw).equals(content.subarray(at, at + chunk.sizeBytes)), `chunk at ${at}`);
      at += chunk.sizeBytes;
    }
    assert.equal(at, content.byteLength);
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
