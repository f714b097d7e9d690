// Goal: a re-run's tree prefetch reads exactly the committed tree records (merged into runs as the record reader merges), newest first, none beyond its byte budget, and stops cleanly before the vault closes. Method: a BlobIndex of known layout and a VaultFile stand-in that records reads.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BlobIndex } from "./blob-index.ts";
import { RecordKind, type RecordKindCode } from "./format.ts";
import { Prefetch, type PrefetchRun, prefetchRuns } from "./prefetch.ts";
import type { VaultFile } from "./vault-file.ts";

function indexOf(records: readonly [offset: number, length: number, kind: RecordKindCode][]): BlobIndex {
  const index = new BlobIndex();
  records.forEach(([offset, recordLength, kind], i) => {
    const id = new Uint8Array(32);
    new DataView(id.buffer).setUint32(0, i + 1);
    index.set(id, { offset, recordLength, rawLength: recordLength, kind });
  });
  return index;
}

const KiB = 1024;

test("tree records become runs in offset order: close ones merged, data and far ones apart, uncommitted ones left out", () => {
  const index = indexOf([
    [500 * KiB, 2 * KiB, RecordKind.tree], // far from the others: a run of its own
    [100, 300, RecordKind.tree],
    [10 * KiB, 1 * KiB, RecordKind.tree], // within 16 KiB of the first: same run, gap included
    [400, 9 * KiB, RecordKind.data], // data is never read ahead
    [40 * KiB, 1 * KiB, RecordKind.tree], // 29 KiB after the previous one: a new run
    [900 * KiB, 1 * KiB, RecordKind.tree], // ends beyond the committed log: left out
  ]);
  assert.deepEqual(prefetchRuns(index, RecordKind.tree, 900 * KiB, 1 << 30), [
    { offset: 100, length: 11 * KiB - 100 },
    { offset: 40 * KiB, length: 1 * KiB },
    { offset: 500 * KiB, length: 2 * KiB },
  ]);
});

test("no run grows past 1 MiB, and trees beyond the budget are not read ahead at all", () => {
  const records: [number, number, RecordKindCode][] = [];
  for (let i = 0; i < 40; i++) records.push([i * 64 * KiB, 64 * KiB, RecordKind.tree]); // 2.5 MiB, contiguous
  const runs = prefetchRuns(indexOf(records), RecordKind.tree, 1 << 30, 4 << 20)!;
  assert.deepEqual(runs.map((r) => r.length), [1024 * KiB, 1024 * KiB, 512 * KiB]);
  assert.equal(prefetchRuns(indexOf(records), RecordKind.tree, 1 << 30, 2 << 20), null);
  assert.deepEqual(prefetchRuns(indexOf([]), RecordKind.tree, 1 << 30, 1 << 20), []);
});

/** A VaultFile that records each read and answers after a turn of the event loop. */
function recordingFile(fail = false): { file: VaultFile; reads: number[]; inFlight: () => number } {
  const reads: number[] = [];
  let inFlight = 0;
  const file = {
    async readAt(offset: number, length: number): Promise<Buffer> {
      reads.push(offset);
      inFlight++;
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      if (fail) throw new Error("EIO");
      return Buffer.alloc(length);
    },
  } as unknown as VaultFile;
  return { file, reads, inFlight: () => inFlight };
}

test("every run is read once, the last written first; stop() waits for reads in flight and starts no more", async () => {
  const runs: PrefetchRun[] = Array.from({ length: 10 }, (_, i) => ({ offset: i * 100 * KiB, length: KiB }));
  const all = recordingFile();
  await new Prefetch(all.file, runs).stop().then(() => undefined);
  // stop() right away: only the reads already started (at most 3) happened.
  assert.ok(all.reads.length >= 1 && all.reads.length <= 3, `${all.reads.length} reads`);
  assert.equal(all.inFlight(), 0);

  const whole = recordingFile();
  const prefetch = new Prefetch(whole.file, runs);
  while (whole.reads.length < runs.length) await new Promise((resolve) => setImmediate(resolve));
  await prefetch.stop();
  assert.deepEqual(whole.reads, runs.map((r) => r.offset).reverse());
});

test("a failed read ends the prefetch quietly (the walk's own read reports errors)", async () => {
  const failing = recordingFile(true);
  await new Prefetch(failing.file, [{ offset: 0, length: KiB }, { offset: 1024 * KiB, length: KiB }]).stop();
  assert.equal(failing.inFlight(), 0);
});
