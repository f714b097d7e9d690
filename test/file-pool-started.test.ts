// Goal: a file worker started ahead (StartedFileWorker, during the unlock) works as the pool's first
// worker with the keys it is given later, exactly like one started with them; one never used ends on
// stop() and, unref'd, cannot keep a process alive. Method: the same file through a pool with a
// started worker and one without, same keys (chunk IDs and sizes must match); a child process that
// starts one and returns must exit on its own.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FilePool, StartedFileWorker } from "../src/backup/file-pool.ts";
import type { ChunkInfo, FileWorkerData } from "../src/backup/file-worker.ts";
import { CHUNKER_PARAMS_DEFAULT } from "../src/chunker/params.ts";

const data: FileWorkerData = {
  recordKeys: { vaultId: randomBytes(16), recordBase: randomBytes(32) },
  compressionLevel: 1,
  chunkerKey: randomBytes(32),
  blobIdKey: randomBytes(32),
  params: CHUNKER_PARAMS_DEFAULT,
};

async function chunksOf(pool: FilePool, path: string): Promise<string[]> {
  const seen: string[] = [];
  const onChunks = async (chunks: readonly ChunkInfo[]) => {
    for (const c of chunks) seen.push(`${c.id === null ? "hole" : Buffer.from(c.id).toString("hex")}:${c.sizeBytes}`);
    return chunks.map(() => false); // nothing to seal: only the cut and the IDs are compared
  };
  const result = await pool.backupFile(Buffer.from(path), { onChunks, onSealed: async () => {} });
  assert.equal(result.sizeBytes, 3_000_000);
  return seen;
}

test("StartedFileWorker: as the pool's first worker it cuts and names a file as a fresh worker does", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-started-"));
  const started = new StartedFileWorker();
  await sleep(300); // it loads its modules and waits for the keys meanwhile, as during an unlock
  const ahead = new FilePool(data, 1, started);
  const fresh = new FilePool(data, 1);
  try {
    const path = join(dir, "f");
    writeFileSync(path, randomBytes(3_000_000));
    const expected = await chunksOf(fresh, path);
    assert.ok(expected.length > 10);
    assert.deepEqual(await chunksOf(ahead, path), expected);
    await started.stop(); // taken by the pool: stop() leaves it to the pool
    assert.deepEqual(await chunksOf(ahead, path), expected);
    assert.throws(() => started.begin(data), /used once/);
  } finally {
    await ahead.close();
    await fresh.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("StartedFileWorker: one never used ends on stop(), and does not keep a process alive", { timeout: 60_000 }, async () => {
  const unused = new StartedFileWorker();
  await sleep(100);
  await unused.stop();
  const child = spawnSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", `import { StartedFileWorker } from ${JSON.stringify(join(import.meta.dirname, "../src/backup/file-pool.ts"))}; new StartedFileWorker();`],
    { timeout: 30_000, encoding: "utf8" },
  );
  assert.equal(child.error, undefined, "the process did not exit by itself");
  assert.equal(child.status, 0, child.stderr);
});
