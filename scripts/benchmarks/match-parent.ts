/**
 * CPU per entry of matchParent (backup/unchanged.ts): a no-change re-run joins every listed entry
 * with the parent's encoded tree part this way, on a file worker or (listed during the unlock) on
 * the main thread. The parent part is encoded from the directory's own listing, so every entry is
 * the same, as on a no-change re-run. Prints the median of the rounds.
 * Run: node --import tsx scripts/benchmarks/match-parent.ts DIR [rounds]   (DIR: ~1,000 regular files,
 * e.g. a directory of bench/ manyfiles)
 */
import type { SourceStat } from "../../src/core/ports.ts";
import { listDirectorySync, NodeSourceFs } from "../../src/fs/node-source-fs.ts";
import { packListing, unpackListing } from "../../src/backup/listing-codec.ts";
import { AccountBytes, matchParent, nodeFromStat } from "../../src/backup/unchanged.ts";
import { encodeTreePart } from "../../src/snapshot/tree-codec.ts";
const dir = Buffer.from(process.argv[2] ?? "");
const listing = listDirectorySync(dir);
const fs = new NodeSourceFs();
const accounts = new AccountBytes(fs);
const nodes = listing.names.map((n, i) => nodeFromStat(fs, n, listing.stats[i] as SourceStat, { chunks: [{ id: new Uint8Array(32), sizeBytes: 5 }] }));
const part = encodeTreePart(nodes);
const un = unpackListing(packListing(listing));
const rounds = Number(process.argv[3] ?? 7);
const res: number[] = [];
for (let r = 0; r < rounds; r++) { const s = process.cpuUsage(); for (let k = 0; k < 300; k++) if (matchParent(accounts, un, [part])?.unchanged !== true) throw new Error("not same"); const u = process.cpuUsage(s); res.push((u.user + u.system) / 300 / listing.names.length); }
res.sort((a, b) => a - b);
console.log("matchParent CPU µs per entry, median of", rounds, res[rounds >> 1]!.toFixed(3));
