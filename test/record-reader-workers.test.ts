// Goal: the vault's record-opening workers start for bulk reads only. A session that reads many
// small records one at a time (a backup re-run reading parent tree parts) opens them on the main
// thread and starts no threads, even with a merged run now and then once 4 MiB were read; reads
// merged into big runs start them once 4 MiB of such runs were read. Method: back up 640
// incompressible 8 KiB files (one record each, ~5 MiB), read every record back through a Vault
// in this process (one at a time, then a few adjacent at once, then all at once) and count this
// process's threads in /proc/self/task; every read must give the file's bytes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { systemClock } from "../src/util/clock.ts";
import { systemRandom } from "../src/util/random.ts";
import { RecordKind } from "../src/vault/format.ts";
import { Vault } from "../src/vault/vault.ts";
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
