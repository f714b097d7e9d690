/**
 * Bytes per chunk of the in-memory blob index (issue 5: at most 64). Builds an index of N entries
 * (default 1,000,000) twice — one `set` per blob as a backup does, and from index record bodies as
 * opening a vault does — and prints the index's own count (`memoryBytes`) next to what the process
 * really gained (`arrayBuffers` + heap), plus lookup rates.
 *
 *   node --expose-gc --import tsx bench/index-memory.ts [N]
 */
import { createCipheriv } from "node:crypto";
import { BlobIndex, encodeIndexEntries, type BlobEntry } from "../src/vault/blob-index.ts";
import { INDEX_ENTRIES_PER_RECORD_MAX, RecordKind } from "../src/vault/format.ts";

const count = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function randomIds(n: number): Uint8Array {
  const cipher = createCipheriv("aes-128-ctr", new Uint8Array(16).fill(3), new Uint8Array(16));
  return new Uint8Array(Buffer.concat([cipher.update(new Uint8Array(n * 32)), cipher.final()]));
}

function measured(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.arrayBuffers + m.heapUsed;
}

const ids = randomIds(count);
const misses = randomIds(count / 10).map((b, i) => (i % 32 === 31 ? b ^ 0x5a : b));
const id = (i: number) => ids.subarray(i * 32, i * 32 + 32);

function report(label: string, index: BlobIndex, before: number, ms: number): void {
  const gained = measured() - before;
  console.log(
    `${label}: ${index.size.toLocaleString("en-US")} entries in ${ms.toFixed(0)} ms; memoryBytes ${(index.memoryBytes / index.size).toFixed(1)} B/entry; ` +
      `process gained ${(gained / index.size).toFixed(1)} B/entry (${(gained / 2 ** 20).toFixed(1)} MiB)`,
  );
}

{
  const before = measured();
  const started = performance.now();
  const index = new BlobIndex();
  for (let i = 0; i < count; i++) index.set(id(i), { offset: 16384 + i * 1100, recordLength: 1100, rawLength: 1000, kind: RecordKind.data });
  report("set one by one (backup)", index, before, performance.now() - started);
  let started2 = performance.now();
  let found = 0;
  for (let i = 0; i < count; i++) if (index.has(id(i))) found++;
  const hitMs = performance.now() - started2;
  started2 = performance.now();
  for (let i = 0; i < count / 10; i++) if (index.has(misses.subarray(i * 32, i * 32 + 32))) found++;
  const missMs = performance.now() - started2;
  console.log(`  lookups: ${((count / hitMs) * 1000 / 1e6).toFixed(2)} M hits/s, ${((count / 10 / missMs) * 1000 / 1e6).toFixed(2)} M misses/s (found ${found})`);
}

{
  const bodies: Uint8Array[] = [];
  for (let start = 0; start < count; start += INDEX_ENTRIES_PER_RECORD_MAX) {
    const entries: BlobEntry[] = [];
    for (let i = start; i < Math.min(count, start + INDEX_ENTRIES_PER_RECORD_MAX); i++) {
      entries.push({ id: id(i), offset: 16384 + i * 1100, recordLength: 1100, rawLength: 1000, kind: RecordKind.data });
    }
    bodies.push(encodeIndexEntries(entries));
  }
  const before = measured();
  const started = performance.now();
  // Opening sizes the table from the index records' total length, as here.
  const index = new BlobIndex(count);
  for (const body of bodies) index.addIndexRecord(body, Number.MAX_SAFE_INTEGER);
  report("from index records (open)", index, before, performance.now() - started);
}
