// Goal: the vault's record-opening workers start for bulk reads only. A session that reads many
// small records one at a time (a backup re-run reading parent tree parts) opens them on the main
// thread and starts no threads, even with a merged run now and then once 4 MiB were read; reads
// merged into big runs start them once 4 MiB of such runs were read. Method: back up 640
// incompressible 8 KiB files (one record each, ~5 MiB), read every record back through a Vault
// in this process (one at a time, then a few adjacent at once, then all at once) and count this
// process's threads in /proc/self/task; every read must give the file's bytes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import type { Worker } from "node:worker_threads";
import { join } from "node:path";
import { test } from "node:test";
import { systemClock } from "../src/util/clock.ts";
import { systemRandom } from "../src/util/random.ts";
import { RecordKind } from "../src/vault/format.ts";
import { Vault } from "../src/vault/vault.ts";
import { StartedOpenWorker } from "../src/vault/record-reader.ts";
import { SuedeVault } from "../src/api/suede-vault.ts";
import { PASSPHRASE, backupJson, initVault, tempDir } from "./helpers/cli.ts";
import { Prng } from "./helpers/prng.ts";

const FILES = 640;
const FILE_BYTES = 8192;

const threads = (): number => readdirSync("/proc/self/task").length;
const sha = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

test("small records read one at a time start no open workers; runs of bulk reads do", { timeout: 180_000, skip: process.platform !== "linux" }, async () => {
  const dir = await tempDir("reader-workers");
  try {
    const source = join(dir.path, "src");
    mkdirSync(source);
    const prng = new Prng(11);
    const expected = new Set<string>();
    for (let i = 0; i < FILES; i++) {
      const bytes = prng.bytes(FILE_BYTES);
      expected.add(sha(bytes));
      writeFileSync(join(source, `f${i}`), bytes);
    }
    const vault = join(dir.path, "v.suede");
    await initVault(vault);
    await backupJson(vault, [source]);

    const raw = await Vault.open(vault, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
    try {
      const data = [...raw.blobIndex.entries()].filter((entry) => entry.kind === RecordKind.data).sort((a, b) => a.offset - b.offset);
      assert.equal(data.length, FILES, "one record per file");
      const check = (bytes: Uint8Array): void => assert.ok(expected.has(sha(bytes)), "a record reads back as one of the files");
      const before = threads();

      // All but the last few, one at a time: each its own run, opened here, past 4 MiB in total.
      const tail = 8;
      for (const entry of data.slice(0, -tail)) check(await raw.getBlob(entry.id));
      // Then adjacent records asked for at once: one merged run over 16 KiB (worker-sized).
      for (const bytes of await Promise.all(data.slice(-tail).map((entry) => raw.getBlob(entry.id)))) check(bytes);
      assert.equal(threads(), before, "no worker threads for a session of small runs");

      // Everything at once: runs of up to 512 KiB; past 4 MiB of those, the workers open them.
      for (const bytes of await Promise.all(data.map((entry) => raw.getBlob(entry.id)))) check(bytes);
      assert.ok(threads() > before, "bulk reads start the open workers");
    } finally {
      await raw.close();
    }
  } finally {
    await dir.remove();
  }
});

// Goal: a record-opening worker that dies while runs are out on the workers costs no bytes: every
// read of those runs is read again and opened on the main thread, and only once every worker has
// terminated (session 8: a retried readTo must not race a worker still writing the same file).
// Method: 2,560 incompressible 8 KiB files (20 MiB, one record each) backed up; every record
// asked for at once, half as plaintext (getBlob) and half written into a target file (writeBlobTo,
// as restore writes big files); once every run in flight sits at a worker, one worker is
// terminated. The reader's workers are private: the test reaches them through a cast.
interface ReaderInternals {
  workers: Worker[] | null;
  pending: Map<number, unknown>;
  runsInFlight: number;
  queue: unknown[];
}

test("a worker killed mid-read: every read still gives exact bytes, retried only after all workers stopped", { timeout: 300_000, skip: process.platform !== "linux" }, async () => {
  const dir = await tempDir("reader-worker-dies");
  try {
    const count = 2560;
    const source = join(dir.path, "src");
    mkdirSync(source);
    const prng = new Prng(12);
    const byHash = new Map<string, Uint8Array>();
    for (let i = 0; i < count; i++) {
      const bytes = prng.bytes(FILE_BYTES);
      byHash.set(sha(bytes), bytes);
      writeFileSync(join(source, `f${String(i).padStart(5, "0")}`), bytes);
    }
    const vault = join(dir.path, "v.suede");
    await initVault(vault);
    await backupJson(vault, [source]);

    const raw = await Vault.open(vault, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
    const target = openSync(join(dir.path, "target"), "w+");
    try {
      const data = [...raw.blobIndex.entries()].filter((entry) => entry.kind === RecordKind.data).sort((a, b) => a.offset - b.offset);
      assert.equal(data.length, count, "one record per file");
      const reader = (raw as unknown as { reader: ReaderInternals }).reader;
      // The order of events: "exit" per worker, "settled" per read.
      const events: string[] = [];
      const reads = data.map((entry, i) => {
        const read: Promise<Uint8Array | number> = i % 2 === 0 ? raw.getBlob(entry.id) : raw.writeBlobTo(entry.id, target, i * FILE_BYTES);
        return read.finally(() => events.push("settled"));
      });

      // Kill one worker once every run in flight is out on the workers (none still being read).
      const workers = await new Promise<Worker[]>((resolve, reject) => {
        const poll = (): void => {
          const all = reader.workers;
          if (all !== null && reader.pending.size >= 8 && reader.pending.size === reader.runsInFlight && reader.queue.length === 0) resolve(all);
          else if (events.length === count) reject(new Error("every read settled before a worker could be killed"));
          else setImmediate(poll);
        };
        poll();
      });
      assert.ok(workers.length >= 1);
      for (const worker of workers) worker.once("exit", () => events.push("exit"));
      void workers[0]!.terminate();

      const results = await Promise.all(reads);
      for (const [i, result] of results.entries()) {
        if (i % 2 === 0) assert.ok(byHash.has(sha(result as Uint8Array)), `read ${i} gives one file's bytes`);
        else assert.equal(result, FILE_BYTES, `read ${i} wrote a whole file's bytes`);
      }
      const written = readFileSync(join(dir.path, "target"));
      for (let i = 1; i < count; i += 2) {
        assert.ok(byHash.has(sha(written.subarray(i * FILE_BYTES, (i + 1) * FILE_BYTES))), `bytes written for read ${i}`);
      }

      // Reads settling after the first worker stopped were retried: none before the last one stopped.
      const firstExit = events.indexOf("exit");
      const lastExit = events.lastIndexOf("exit");
      assert.ok(firstExit >= 0, "the killed worker exited");
      assert.equal(events.filter((event) => event === "exit").length, workers.length, "every worker was stopped");
      const retried = events.slice(firstExit).filter((event) => event === "settled").length;
      assert.ok(retried > 0, "some reads were retried");
      assert.ok(!events.slice(firstExit, lastExit).includes("settled"), "no read settled while a worker was still running");
    } finally {
      closeSync(target);
      await raw.close();
    }
  } finally {
    await dir.remove();
  }
});

// Goal: a restore's open worker started before the vault unlocks (issue 5) opens its first bulk
// runs once it has the keys, before the reader would start workers itself (4 MiB), and no other
// starts; unused, it ends; a vault too small to ever start workers gets none from prepareRestore.
// Method: 64 incompressible 8 KiB files (512 KiB) backed up; a StartedOpenWorker made before
// Vault.open, adopted by the vault, every record asked for at once (runs over 16 KiB, worker-sized);
// threads counted in /proc/self/task; every read must give a file's bytes.
test("an open worker started during the unlock opens the first bulk runs; unused it ends", { timeout: 180_000, skip: process.platform !== "linux" }, async () => {
  const dir = await tempDir("reader-early");
  try {
    const source = join(dir.path, "src");
    mkdirSync(source);
    const prng = new Prng(12);
    const expected = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const bytes = prng.bytes(FILE_BYTES);
      expected.add(sha(bytes));
      writeFileSync(join(source, `f${i}`), bytes);
    }
    const vault = join(dir.path, "v.suede");
    await initVault(vault);
    await backupJson(vault, [source]);
    const before = threads();
    const settled = async (count: number): Promise<number> => {
      for (let i = 0; i < 100 && threads() !== count; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      return threads();
    };

    assert.equal(SuedeVault.prepareRestore({ vaultBytes: statSync(vault).size }).takeOpenWorker(), undefined, "a 0.5 MiB vault starts no worker ahead");
    const unused = new StartedOpenWorker();
    assert.equal(threads(), before + 1);
    await unused.stop();
    assert.equal(await settled(before), before, "a worker stopped unused ends");

    const started = new StartedOpenWorker();
    const raw = await Vault.open(vault, { secret: Buffer.from(PASSPHRASE, "utf8"), writable: false, deps: { clock: systemClock, random: systemRandom } });
    try {
      raw.adoptOpenWorker(started);
      const data = [...raw.blobIndex.entries()].filter((entry) => entry.kind === RecordKind.data);
      assert.equal(data.length, 64);
      const internals = raw as unknown as { reader: ReaderInternals };
      let replies = 0;
      internals.reader.workers![0]!.on("message", () => replies++);
      for (const bytes of await Promise.all(data.map((entry) => raw.getBlob(entry.id)))) assert.ok(expected.has(sha(bytes)), "a record reads back as one of the files");
      assert.ok(replies > 0, "the worker started ahead opened runs");
      assert.equal(internals.reader.workers?.length, 1, "only the worker started ahead: 0.5 MiB starts no others");
    } finally {
      await raw.close();
    }
    assert.ok((await settled(before)) <= before + 1, "closing the vault ends the adopted worker");
  } finally {
    await dir.remove();
  }
});
