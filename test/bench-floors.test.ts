// Goal: the bench's physical-floor verdicts (bench/lib/floor-targets.ts) do the arithmetic the
// report claims — needed = peer ÷ factor, floors combined with max where parts can overlap — and
// the vault byte breakdown (bench/lib/padding.ts) accounts for every record byte of a real vault.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type FloorInputs, INCONCLUSIVE_FRACTION, parts, renderFloors, targetRows, verdict } from "../bench/lib/floor-targets.ts";
import type { FloorRun } from "../bench/lib/floors.ts";
import type { Timing } from "../bench/lib/exec.ts";
import type { Measure } from "../bench/lib/report.ts";
import { vaultBytes } from "../bench/lib/padding.ts";
import { SuedeVault } from "../src/api/suede-vault.ts";
import { paddedLength } from "../src/vault/record.ts";
import { Prng } from "./helpers/prng.ts";

const run = (wallS: number, cpuS = 0, rssMiB = 0): FloorRun => ({ wallS, cpuS, rssMiB, runs: [wallS], cold: true, command: "x" });

function inputs(): FloorInputs {
  return {
    process: { nodeStart: run(0.05, 0.04, 40) },
    rates: { aesGcmMBPerCpuS: 2000, blake3MBPerCpuS: 4000 },
    unlock: { kdfMs: [300, 320, 310], params: "Argon2id t=3, m=64 MiB, p=4", kdfAlone: run(0.35, 0.6, 110), rfcFloorMs: [100, 110, 120], rfcFloorParams: "Argon2id t=3, m=64 MiB, p=4" },
    vault: null,
    data: {
      dataset: "usr",
      entries: 20_000,
      files: 19_000,
      fileBytes: 300e6,
      walkFindCold: run(0.4),
      walkFindParallelCold: run(0.25),
      walkFindWarm: run(0.03),
      walkNodeCold: run(0.6),
      readCold: run(1.2),
      readParallelCold: run(0.9),
      writeCpA: run(1.0),
      writeTarX: run(0.8),
      zstd3: run(1.1, 1.0),
      zstd3Blocks: { cpuS: 1.2, bytes: 125e6 },
      zstdDecompress: run(0.3, 0.2),
      tarBytes: 310e6,
      zstdBytes: 120e6,
      writeCompressedSync: run(0.5),
      readCompressedCold: run(0.2),
    },
  };
}

let seq = 0;
function m(step: string, kind: "backup" | "restore", tool: string, wallS: number, rssMiB = 100): Measure {
  const timing: Timing = { label: "", ok: true, code: 0, timedOut: false, wallS, userS: 0, sysS: 0, maxRssKiB: rssMiB * 1024, cacheDropped: true, stdoutFile: "", stderrFile: "" };
  return { dataset: "usr", step, stepIndex: seq++, kind, tool, rep: 1, timing, repoBytes: 100 };
}

test("verdicts: above the needed time is impossible, within the inconclusive band says so, below it is reachable", () => {
  assert.equal(verdict(0.34, 0.36), "below the floor by 0.02 s: physically impossible here");
  assert.equal(verdict(1, INCONCLUSIVE_FRACTION + 0.01), "the floor alone is not conclusive");
  assert.equal(verdict(1, INCONCLUSIVE_FRACTION - 0.01), "reachable");
  assert.equal(verdict(Number.NaN, 1), "not measured");
});

test("targets: needed = peer ÷ factor against floors combined as documented", () => {
  const measures = [
    m("1 first backup", "backup", "suede", 5.67, 199),
    m("1 first backup", "backup", "restic", 5.5, 97),
    m("1 first backup", "backup", "borg", 7.87, 78),
    m("2 no-change re-run", "backup", "suede", 1.95, 139),
    m("2 no-change re-run", "backup", "restic", 1.68, 73),
    m("3 1% files appended", "backup", "suede", 2.5),
    m("3 1% files appended", "backup", "restic", 1.94),
    m("R restore newest", "restore", "suede", 4.73),
    m("R restore newest", "restore", "restic", 3.45),
    m("R restore newest", "restore", "borg", 4.36),
  ];
  const rows = new Map(targetRows("usr", inputs(), measures).map((r) => [r.target.split(" ")[0] + (r.target.includes("newest") ? "N" : ""), r]));
  // First backup: the faster of restic and Borg is restic; node + max(KDF, read, CPU ÷ 2, sync write).
  const first = rows.get("first")!;
  assert.equal(first.peer, "restic");
  assert.ok(Math.abs(first.needed - 5.5 / 3) < 1e-9);
  const cpu = 1.0 + 300 / 4000 + 120 / 2000;
  assert.ok(Math.abs(first.floor - (0.05 + Math.max(0.3, 0.9, cpu / 2, 0.5))) < 1e-9);
  assert.equal(first.verdict, "reachable");
  // No-change: node + max(KDF, fastest cold walk) = 0.05 + 0.30 against 1.68 ÷ 5 = 0.336.
  const noChange = rows.get("no-change")!;
  assert.ok(Math.abs(noChange.floor - 0.35) < 1e-9);
  assert.equal(noChange.verdict, "below the floor by 0.01 s: physically impossible here");
  // Restore: node + KDF + max(fastest write, CPU ÷ 2) (the vault read overlaps the KDF).
  const restore = rows.get("restoreN")!;
  assert.equal(restore.peer, "restic");
  assert.ok(Math.abs(restore.floor - (0.05 + 0.3 + 0.8)) < 1e-9);
  assert.ok(Math.abs(restore.needed - 3.45 / 1.5) < 1e-9);
  // Memory: the lowest peer peak over all steps against node + Argon2id alone.
  const rss = rows.get("peak")!;
  assert.equal(rss.needed, 73);
  assert.equal(rss.floor, 110);
  assert.equal(rss.suede, 199);
  assert.equal(rss.verdict, "below the floor by 37 MiB: physically impossible here");
  // zpaq did not run: no row for it.
  assert.equal([...rows.values()].filter((r) => r.peer === "zpaq").length, 0);
  const md = renderFloors("usr", inputs(), measures);
  assert.match(md, /\| no-change re-run ≥ 5× restic \| restic 1\.68 s ÷ 5 \| 0\.34 s \| 0\.35 s \|/);
});

test("the CPU floor takes the cheaper compression, with the bytes that one produced", () => {
  const f = inputs();
  assert.ok(Math.abs(parts(f).cpuBackup - (1.0 + 300 / 4000 + 120 / 2000)) < 1e-9);
  const blocks = { ...f, data: { ...f.data, zstd3Blocks: { cpuS: 0.5, bytes: 125e6 } } };
  assert.ok(Math.abs(parts(blocks).cpuBackup - (0.5 + 300 / 4000 + 125 / 2000)) < 1e-9);
});

test("vault bytes: payload + Padmé padding + framing make up every record byte that info counts", async () => {
  const dir = mkdtempSync(join(tmpdir(), "suede-floors-"));
  try {
    const src = join(dir, "src");
    mkdirSync(src);
    const prng = new Prng(7);
    for (let i = 0; i < 40; i++) {
      const bytes = Buffer.alloc(100 + ((i * 3331) % 70_000));
      for (let k = 0; k < bytes.length; k++) bytes[k] = i % 2 === 0 ? prng.next() & 0xff : 97 + (k % 7);
      writeFileSync(join(src, `f${i}`), bytes);
    }
    const path = join(dir, "v.suede");
    const secret = { passphrase: "pass" };
    await SuedeVault.create(path, { secret, kdf: { iterations: 1, memoryKiB: 64, parallelism: 1 } });
    const vault = await SuedeVault.open(path, { secret, writable: true });
    await vault.backup({ paths: [src] });
    const info = await vault.info();
    await vault.close();
    const b = await vaultBytes(path, "pass");
    assert.equal(b.fileBytes, info.fileSizeBytes);
    assert.equal(b.records, info.blobs);
    assert.equal(b.payloadBytes + b.paddingBytes + b.framingBytes, info.liveBytes);
    assert.equal(b.framingBytes, 96 * info.blobs);
    // Padmé adds at most ~12% per record, and something here (the file lengths are not powers of two).
    assert.ok(b.paddingBytes > 0 && b.paddingBytes <= 0.12 * b.payloadBytes, JSON.stringify(b));
    assert.ok(b.paddingBytes <= b.records * (paddedLength(70_100) - 70_100));
    await assert.rejects(vaultBytes(path, "wrong"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
