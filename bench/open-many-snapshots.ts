/**
 * Issue 5: opening a vault of 100 snapshots and 1,000,000 chunks and listing its snapshots must
 * take under a second (KDF excluded). Builds such a vault directly with the library's writers
 * (no file system walk): snapshot s adds one directory of chunks/snapshots one-chunk files and
 * keeps every earlier directory by its tree-part IDs, as a daily backup of a growing tree would.
 * Then times `suede snapshots` (the built CLI, cold process, /usr/bin/time for peak RSS) and, in
 * this process, the open and the listing separately. The vault uses the weakest KDF, so its
 * unlock costs about a millisecond; `suede --version` is timed as the process start-up baseline.
 *
 *   npm run build && node --import tsx bench/open-many-snapshots.ts [--snapshots 100] [--chunks 1000000] [--keep DIR]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { SuedeVault, defaultDeps } from "../src/api/suede-vault.ts";
import type { BlobId } from "../src/core/ids.ts";
import type { Node, Snapshot } from "../src/core/types.ts";
import { encodeSnapshot } from "../src/snapshot/snapshot-codec.ts";
import { TREE_PART_ENTRIES_MAX, encodeTreePart } from "../src/snapshot/tree-codec.ts";
import { Vault } from "../src/vault/index.ts";

const { values } = parseArgs({
  options: { snapshots: { type: "string", default: "100" }, chunks: { type: "string", default: "1000000" }, keep: { type: "string" } },
});
const snapshotCount = Number(values.snapshots);
const chunkCount = Number(values.chunks);
const perSnapshot = Math.ceil(chunkCount / snapshotCount);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(REPO, "dist", "cli", "main.js");
if (!existsSync(CLI)) throw new Error("run npm run build first");
const PASSPHRASE = "bench";
const KDF = { iterations: 1, memoryKiB: 8, parallelism: 1 };

const dir = values.keep ?? mkdtempSync(join(tmpdir(), "suede-open-bench-"));
mkdirSync(dir, { recursive: true });
const vaultPath = join(dir, "many.vault");

function fileNode(name: string, chunk: BlobId, size: number, i: number): Node {
  return {
    name: Buffer.from(name),
    type: "file",
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    user: "bench",
    group: "bench",
    mtimeNs: 1_700_000_000_000_000_000n + BigInt(i),
    ctimeNs: 1_700_000_000_000_000_000n + BigInt(i),
    inode: BigInt(i + 1),
    device: 1n,
    nlink: 1,
    sizeBytes: size,
    chunks: [{ id: chunk, sizeBytes: size }],
  };
}

function dirNode(name: string, subtree: readonly BlobId[]): Node {
  const { chunks: _chunks, ...rest } = fileNode(name, new Uint8Array(32), 0, 0);
  return { ...rest, type: "dir", mode: 0o755, sizeBytes: 0, subtree };
}

/** Stores nodes (sorted by name) as tree parts; returns their IDs. */
async function putTree(vault: Vault, nodes: Node[]): Promise<BlobId[]> {
  const parts: BlobId[] = [];
  for (let start = 0; start < nodes.length || start === 0; start += TREE_PART_ENTRIES_MAX) {
    const bytes = encodeTreePart(nodes.slice(start, start + TREE_PART_ENTRIES_MAX));
    const id = vault.blobId(bytes);
    await vault.putBlob("tree", id, bytes);
    parts.push(id);
    if (nodes.length === 0) break;
  }
  return parts;
}

async function build(): Promise<void> {
  await SuedeVault.create(vaultPath, { secret: { passphrase: PASSPHRASE }, kdf: KDF });
  const vault = await Vault.open(vaultPath, { secret: Buffer.from(PASSPHRASE), writable: true, deps: defaultDeps });
  const started = performance.now();
  try {
    const dirs: Node[] = [];
    let chunkNumber = 0;
    for (let s = 1; s <= snapshotCount; s++) {
      const files: Node[] = [];
      for (let i = 0; i < perSnapshot && chunkNumber < chunkCount; i++, chunkNumber++) {
        // A small distinct plaintext per chunk; sealing is the same as for any data blob.
        const plaintext = Buffer.from(`chunk ${chunkNumber} of the open-time bench, padded a little: ${"x".repeat(chunkNumber % 64)}`);
        const id = vault.blobId(plaintext);
        await vault.putBlob("data", id, plaintext);
        files.push(fileNode(`f${String(i).padStart(6, "0")}`, id, plaintext.byteLength, chunkNumber));
      }
      dirs.push(dirNode(`d${String(s).padStart(4, "0")}`, await putTree(vault, files)));
      const top = dirNode("bench", await putTree(vault, dirs));
      const root = await putTree(vault, [top]);
      const number = vault.allocateSnapshotNumber();
      const snapshot: Snapshot = {
        number,
        timeMs: Date.UTC(2026, 0, 1) + s * 86_400_000,
        host: "bench-host",
        user: "bench",
        paths: ["/bench"],
        tags: s % 10 === 0 ? ["weekly"] : [],
        pinned: false,
        parent: number > 1 ? number - 1 : null,
        root,
        stats: { files: chunkNumber, dirs: s + 1, sizeBytes: chunkNumber * 80, filesNew: files.length, filesChanged: 0, filesUnchanged: chunkNumber - files.length, bytesRead: files.length * 80, bytesAdded: files.length * 200, durationMs: 1000, skipped: 0 },
      };
      const bytes = encodeSnapshot(snapshot);
      const snapshotId = vault.blobId(bytes);
      await vault.putBlob("snapshot", snapshotId, bytes);
      vault.setSnapshots([...vault.snapshots, { number, id: snapshotId }]);
      await vault.commit();
      if (s % 10 === 0) console.log(`  ${s} snapshots, ${chunkNumber} chunks, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await vault.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Wall seconds and peak RSS (KiB) of one CLI run. */
function timeCli(args: string[]): { seconds: number; rssKiB: number } {
  const run = spawnSync("/usr/bin/time", ["-f", "%e %M", process.execPath, CLI, ...args], {
    env: { ...process.env, SUEDE_PASSPHRASE: PASSPHRASE },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`suede ${args.join(" ")} failed: ${run.stderr}`);
  const [seconds, rss] = run.stderr.trim().split("\n").at(-1)!.split(" ");
  return { seconds: Number(seconds), rssKiB: Number(rss) };
}

try {
  if (!existsSync(vaultPath)) {
    console.log(`building ${snapshotCount} snapshots, ${chunkCount.toLocaleString("en-US")} chunks in ${vaultPath} …`);
    const t0 = performance.now();
    await build();
    console.log(`built in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(statSync(vaultPath).size / 2 ** 20).toFixed(0)} MiB`);
  }
  // Warm the page cache once, as a user listing twice would; then time.
  timeCli(["snapshots", vaultPath]);
  const baseline = median([0, 1, 2].map(() => timeCli(["--version"]).seconds));
  const runs = [0, 1, 2].map(() => timeCli(["snapshots", vaultPath]));
  const wall = median(runs.map((r) => r.seconds));
  console.log(`suede --version: ${baseline.toFixed(2)} s (process start-up)`);
  console.log(`suede snapshots: ${wall.toFixed(2)} s wall (median of 3; ${runs.map((r) => r.seconds.toFixed(2)).join(", ")}), peak RSS ${(Math.max(...runs.map((r) => r.rssKiB)) / 1024).toFixed(0)} MiB`);
  const lines = execFileSync(process.execPath, [CLI, "snapshots", vaultPath], { env: { ...process.env, SUEDE_PASSPHRASE: PASSPHRASE }, encoding: "utf8" }).trim().split("\n");
  console.log(`  listed ${lines.length - 1} snapshots; last: ${lines.at(-1)}`);
  for (const indexLoad of ["snapshots", "full"] as const) {
    const opens: number[] = [];
    const lists: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const vault = await SuedeVault.open(vaultPath, { secret: { passphrase: PASSPHRASE }, indexLoad });
      const t1 = performance.now();
      await vault.listSnapshots();
      opens.push(t1 - t0);
      lists.push(performance.now() - t1);
      await vault.close();
    }
    console.log(`  in process, index load "${indexLoad}": open ${median(opens).toFixed(0)} ms (KDF ~1 ms), list ${median(lists).toFixed(0)} ms (medians of 3)`);
  }
} finally {
  if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
}
