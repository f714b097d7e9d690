/**
 * Tree decoding alone (issue 5: restore decodes every tree part on its main thread). Reads every
 * tree record of a vault once, then decodes all of them with decodeTreePart ROUNDS times and prints
 * CPU ms per pass (median) and entries per pass. SRC_ROOT picks the tree-codec to time (another
 * checkout's src/ for an A/B; default this tree's).
 * Run: SUEDE_PASSPHRASE=… node --import tsx scripts/benchmarks/tree-decode.ts VAULT [ROUNDS] [SRC_ROOT]
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { systemClock } from "../../src/util/clock.ts";
import { systemRandom } from "../../src/util/random.ts";
import { RecordKind } from "../../src/vault/format.ts";
import { Vault } from "../../src/vault/vault.ts";

const [vaultPath, roundsArg, srcRoot] = process.argv.slice(2);
if (vaultPath === undefined) throw new Error("usage: tree-decode.ts VAULT [ROUNDS] [SRC_ROOT]");
const rounds = Number(roundsArg ?? 9);
const codecUrl = pathToFileURL(resolve(srcRoot ?? new URL("../../src", import.meta.url).pathname, "snapshot/tree-codec.ts")).href;
const { decodeTreePart } = (await import(codecUrl)) as { decodeTreePart: (bytes: Uint8Array) => unknown[] };

const vault = await Vault.open(vaultPath, {
  secret: Buffer.from(process.env.SUEDE_PASSPHRASE ?? "", "utf8"),
  writable: false,
  deps: { clock: systemClock, random: systemRandom },
});
const parts: Uint8Array[] = [];
try {
  const ids = [...vault.blobIndex.entries()].filter((entry) => entry.kind === RecordKind.tree).map((entry) => entry.id);
  for (const bytes of await Promise.all(ids.map((id) => vault.getBlob(id)))) parts.push(bytes);
} finally {
  await vault.close();
}
const times: number[] = [];
let entries = 0;
for (let round = 0; round < rounds; round++) {
  const start = process.cpuUsage();
  entries = 0;
  for (const part of parts) entries += decodeTreePart(part).length;
  const used = process.cpuUsage(start);
  times.push((used.user + used.system) / 1000);
}
times.sort((a, b) => a - b);
console.log(`${parts.length} parts, ${entries} entries: ${times[Math.floor(times.length / 2)]!.toFixed(1)} CPU-ms per pass (median of ${rounds}; min ${times[0]!.toFixed(1)})`);
