/**
 * CPU of building the moved step's inode table (backup/inode-table.ts) from tree parts already in memory:
 * the scan and the table, without the vault's reads and record opening. Parts are encoded from DIR's own
 * listing (nodes with a chunk each), PARTS copies under distinct IDs, as the usr tree's 2,398. Prints the
 * median CPU ms of the rounds and µs per entry.
 * Run: node --import tsx scripts/benchmarks/inode-table-build.ts DIR [parts] [rounds]
 */
import type { BlobId } from "../../src/core/ids.ts";
import type { BlobStore, SourceStat } from "../../src/core/ports.ts";
import { listDirectorySync, NodeSourceFs } from "../../src/fs/node-source-fs.ts";
import { nodeFromStat } from "../../src/backup/unchanged.ts";
import { InodeTable } from "../../src/backup/inode-table.ts";
import { encodeTreePart } from "../../src/snapshot/tree-codec.ts";

const listing = listDirectorySync(Buffer.from(process.argv[2] ?? "/usr/bin"));
const fs = new NodeSourceFs();
const files = listing.names
  .map((n, i) => ({ n, stat: listing.stats[i] as SourceStat }))
  .filter(({ stat }) => stat.type === "file")
  .slice(0, 10);
const nodes = files.map(({ n, stat }) => nodeFromStat(fs, n, stat, { chunks: [{ id: new Uint8Array(32), sizeBytes: 5 }] }));
const part = encodeTreePart(nodes);
const count = Number(process.argv[3] ?? 2398);
const blobs = new Map<string, Uint8Array>();
const root: BlobId[] = [];
for (let i = 0; i < count; i++) {
  const id = new Uint8Array(32);
  new DataView(id.buffer).setUint32(0, i);
  root.push(id);
  blobs.set(Buffer.from(id).toString("hex"), part);
}
const store = { getBlob: async (id: BlobId) => blobs.get(Buffer.from(id).toString("hex"))! } as unknown as BlobStore;
const rounds = Number(process.argv[4] ?? 9);
const ms: number[] = [];
for (let r = 0; r < rounds; r++) {
  const start = process.cpuUsage();
  const table = await InodeTable.build(store, root);
  const used = process.cpuUsage(start);
  ms.push((used.user + used.system) / 1000);
  for (const { stat } of files) if ((await table.find(stat)) === null) throw new Error("a file not found by its inode");
}
ms.sort((a, b) => a - b);
const median = ms[rounds >> 1]!;
console.log(`inode table build: ${count} parts of ${nodes.length} entries, median of ${rounds}: ${median.toFixed(1)} CPU-ms, ${((median * 1000) / (count * nodes.length)).toFixed(2)} µs per entry`);
