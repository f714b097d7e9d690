/**
 * How fast `suede ui` pages through a folder of 100,000 entries (issue 7: "lists without freezing").
 * Backs up one folder of N empty files, then times /api/list pages in process (no browser, no network).
 *
 *   node --import tsx bench/web-big-folder.ts [N]
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { SuedeVault } from "../src/api/suede-vault.ts";
import { createApp } from "../src/web/server.ts";

const count = Number(process.argv[2] ?? 100_000);
const dir = await mkdtemp(join(tmpdir(), "suede-web-bench-"));
try {
  const src = join(dir, "big");
  await mkdir(src);
  for (let i = 0; i < count; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, count - i) }, (_, j) => writeFile(join(src, `file-${String(i + j).padStart(7, "0")}.txt`), "")));
  }
  const vaultPath = join(dir, "vault.suede");
  const secret = { passphrase: "bench" };
  await SuedeVault.create(vaultPath, { secret, kdf: { iterations: 1, memoryKiB: 8, parallelism: 1 } });
  const writer = await SuedeVault.open(vaultPath, { secret, writable: true });
  await writer.backup({ paths: [src] });
  await writer.close();

  const vault = await SuedeVault.open(vaultPath, { secret });
  const app = createApp({ vault, token: "t", port: () => 1, assetsDir: dir });
  const p = Buffer.from(src).toString("base64url");
  const time = async (label: string, query: string): Promise<void> => {
    const start = performance.now();
    const response = await app.request(`http://127.0.0.1:1/api/list?s=1&p=${p}&${query}`, { headers: { host: "127.0.0.1:1", "x-suede-token": "t" } });
    const body = (await response.json()) as { total: number; entries: unknown[] };
    const ms = performance.now() - start;
    console.log(`${label.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms  total ${body.total}, ${body.entries.length} rows, ${(JSON.stringify(body).length / 1024).toFixed(0)} KiB`);
  };
  console.log(`folder of ${count} entries; heap before ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
  await time("first page (name order)", "offset=0&limit=200");
  await time("first page again", "offset=0&limit=200");
  await time("middle page (name order)", `offset=${Math.floor(count / 2)}&limit=200`);
  await time("sorted by size, descending", "sort=size&order=desc&limit=200");
  await time("filtered (substring)", "filter=99&limit=200");
  console.log(`heap after ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
  await vault.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
