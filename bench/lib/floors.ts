/**
 * Physical floors (issue 5: "If a target is physically impossible on this machine, show the
 * measurement that proves it"): what any tool must at least pay on this machine for a data set,
 * measured in the bench run, on the bench's data, with the bench's cold-cache protocol (timed() drops
 * the page cache before each cold command). bench/lib/floor-targets.ts sets them against the targets.
 *
 * Each floor is the best of plain programs doing only that part of the work (find, cat, cp -a, tar,
 * zstd, dd), so it bounds what any tool can do from above-by-little: a tool cannot walk, read, write
 * or compress faster than these programs do by more than their own (small) overhead.
 */
import { createCipheriv, randomBytes, randomFillSync } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Blake3Hasher } from "@napi-rs/blake-hash";
import zstd from "zstd-napi";
import { deriveKek, KDF_FLOOR } from "../../src/crypto/kdf.ts";
import { log, rmrf, sh, shOk, timed, type Timing } from "./exec.ts";
import { median } from "./report.ts";
import { REPO_ROOT } from "./tools.ts";

/** One floor measurement: the best of its runs (wall, CPU = user + sys, peak RSS of the largest process). */
export interface FloorRun {
  readonly wallS: number;
  readonly cpuS: number;
  readonly rssMiB: number;
  readonly runs: number[];
  readonly cold: boolean;
  readonly command: string;
}

/** Tool-independent floors of one data set's tree (its state before the first backup). */
export interface DataFloors {
  readonly dataset: string;
  readonly entries: number;
  readonly files: number;
  readonly fileBytes: number;
  /** `find -printf '%i %s %T@ %C@'`: every lstat a re-run needs; one process, then 8 in parallel. */
  readonly walkFindCold: FloorRun;
  readonly walkFindParallelCold: FloorRun;
  readonly walkFindWarm: FloorRun;
  /** node's own floor: opendir/readdir + lstat (bigint) of every entry, node start included. */
  readonly walkNodeCold: FloorRun;
  /** Every file's bytes read cold: one cat stream, then 4 in parallel. */
  readonly readCold: FloorRun;
  readonly readParallelCold: FloorRun;
  /** The tree's bytes and metadata written into a fresh directory on the work file system from the page cache (null: not restored, not measured). */
  readonly writeCpA: FloorRun | null;
  readonly writeTarX: FloorRun | null;
  /** zstd level 3 (suede's level), one thread, over an uncompressed tar of the tree in the page cache. */
  readonly zstd3: FloorRun;
  /** zstd level 3 in 64 KiB blocks as suede compresses (zstd-napi, this process): CPU-s and output bytes, best of 3. */
  readonly zstd3Blocks: { readonly cpuS: number; readonly bytes: number };
  readonly zstdDecompress: FloorRun;
  readonly tarBytes: number;
  readonly zstdBytes: number;
  /** The compressed bytes appended to a file and fdatasync'ed (a vault's commit must make its data durable). */
  readonly writeCompressedSync: FloorRun;
  /** The compressed bytes read back cold (a restore must read the vault). */
  readonly readCompressedCold: FloorRun;
}

/** Per-byte CPU cost of the primitives suede's format requires (this process, one thread). */
export interface CryptoRates {
  /** MB (10^6 bytes) per CPU-second. */
  readonly aesGcmMBPerCpuS: number;
  readonly blake3MBPerCpuS: number;
}

/** What starting node costs (no tool can start faster than its runtime). */
export interface ProcessFloors {
  readonly nodeStart: FloorRun;
}

/** suede's default-KDF unlock in a data set's own vault (calibrated at its init), and what it holds in memory. */
export interface UnlockFloors {
  readonly kdfMs: number[];
  readonly params: string;
  /** node + the argon2 addon deriving one key with those parameters, nothing else. */
  readonly kdfAlone: FloorRun;
  /** One derivation at the lowest parameters suede accepts as a default (RFC 9106's second option, KDF_FLOOR), in the bench process. */
  readonly rfcFloorMs: number[];
  readonly rfcFloorParams: string;
}

const sq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

async function runFloor(
  label: string,
  fixed: string,
  opts: { cold: boolean; reps: number; cwd?: string; before?: () => void; shown?: string; script?: () => string },
): Promise<FloorRun & { timings: Timing[] }> {
  const timings: Timing[] = [];
  let script = fixed;
  for (let i = 0; i < opts.reps; i++) {
    opts.before?.();
    script = opts.script?.() ?? fixed;
    const t = await timed({ cmd: "sh", args: ["-c", script], ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}) }, { label: `floor-${label}`, env: process.env, timeoutS: 1800, dropCaches: opts.cold });
    if (!t.ok) throw new Error(`floor ${label} failed (exit ${t.code}): ${readFileSync(t.stderrFile, "utf8").slice(0, 300)}`);
    timings.push(t);
  }
  // The best run: other load only ever adds time, and a floor must not claim more than the machine needs.
  const r = {
    wallS: Math.min(...timings.map((t) => t.wallS)),
    cpuS: Math.min(...timings.map((t) => t.userS + t.sysS)),
    rssMiB: Math.min(...timings.map((t) => t.maxRssKiB / 1024)),
    runs: timings.map((t) => t.wallS),
    cold: opts.cold,
    command: opts.shown ?? script,
    timings,
  };
  log(`  floor ${label}: wall ${r.wallS.toFixed(2)} s (${r.runs.map((x) => x.toFixed(2)).join(", ")}), cpu ${r.cpuS.toFixed(2)} s${opts.cold ? ", cold" : ", warm"}`);
  return r;
}

function strip(r: FloorRun & { timings?: Timing[] }): FloorRun {
  const { wallS, cpuS, rssMiB, runs, cold, command } = r;
  return { wallS, cpuS, rssMiB, runs, cold, command };
}

/** node walking a tree with the calls suede's walk uses; prints {entries, files, bytes}. */
const NODE_WALK = `
const fs = require("node:fs"), path = require("node:path");
let entries = 0, files = 0, bytes = 0n;
const walk = (dir) => {
  const d = fs.opendirSync(dir);
  const names = [];
  for (let e; (e = d.readSync()) !== null; ) names.push(e.name);
  d.closeSync();
  for (const n of names) {
    const p = path.join(dir, n);
    const st = fs.lstatSync(p, { bigint: true });
    entries++;
    if (st.isFile()) { files++; bytes += st.size; }
    else if (st.isDirectory()) walk(p);
  }
};
for (const root of process.argv.slice(1)) walk(root);
console.log(JSON.stringify({ entries, files, bytes: Number(bytes) }));
`;

/**
 * Measures the tree floors of `sources` (one directory per data set here). Cold floors drop the
 * page cache before each run, like the tools' timed commands; the write floors run from a warm
 * source (see README "Physical floors": a restore holds its plaintext in memory, its vault read is
 * the separate readCompressedCold floor). Scratch space: WORK/floors, removed at the end.
 */
export async function measureDataFloors(dataset: string, sources: readonly string[], work: string, opts: { coldReps: number; writes: boolean }): Promise<DataFloors> {
  const coldReps = opts.coldReps;
  if (sources.length !== 1) throw new Error("floors are measured on one source directory");
  const src = sources[0]!;
  const scratch = join(work, "floors");
  rmrf(scratch);
  mkdirSync(scratch, { recursive: true });
  const warmReps = 3;
  try {
    log(`floors of ${dataset} (${src}), cold runs ${coldReps}, scratch ${scratch}`);
    const findOne = `find ${sq(src)} -printf '%i %s %T@ %C@\\n' >/dev/null`;
    const walkFindCold = await runFloor(`${dataset}-walk-find`, findOne, { cold: true, reps: coldReps });
    // Parallel lstats can overlap disk latency; each top-level entry is walked by its own find.
    const findPar = `find ${sq(src)} -maxdepth 0 -printf '%i %s %T@ %C@\\n' >/dev/null; find ${sq(src)} -mindepth 1 -maxdepth 1 -print0 | xargs -0 -P 8 -I{} find {} -printf '%i %s %T@ %C@\\n' >/dev/null`;
    const walkFindParallelCold = await runFloor(`${dataset}-walk-find-par`, findPar, { cold: true, reps: coldReps });
    sh("sh", ["-c", findOne]);
    const walkFindWarm = await runFloor(`${dataset}-walk-find-warm`, findOne, { cold: false, reps: warmReps });
    const nodeWalk = await runFloor(`${dataset}-walk-node`, `${sq(process.execPath)} -e ${sq(NODE_WALK)} ${sq(src)} > ${sq(join(scratch, "walk.json"))}`, {
      cold: true,
      reps: coldReps,
      shown: "node -e WALK DIR (opendirSync, readSync, lstatSync bigint; bench/lib/floors.ts)",
    });
    const counts = JSON.parse(readFileSync(join(scratch, "walk.json"), "utf8")) as { entries: number; files: number; bytes: number };

    const catOne = `find ${sq(src)} -type f -print0 | xargs -0 cat >/dev/null`;
    const readCold = await runFloor(`${dataset}-read-cat`, catOne, { cold: true, reps: coldReps });
    const readParallelCold = await runFloor(`${dataset}-read-cat-par`, `find ${sq(src)} -type f -print0 | xargs -0 -n 256 -P 4 cat >/dev/null`, { cold: true, reps: coldReps });

    // An uncompressed tar of the tree, then everything warm for the write and CPU floors.
    const tar = join(scratch, "tree.tar");
    shOk("tar", ["-cf", tar, "-C", dirname(src), basename(src)], { timeoutS: 1800 });
    const tarBytes = statSync(tar).size;
    const warm = () => sh("sh", ["-c", `${catOne}; cat ${sq(tar)} >/dev/null`]);
    warm();
    // Each write goes to a new directory and none is deleted before the last: on this ext4 (mounted
    // with `discard`) writes right after deleting a tree of this size ran 10–30× slower (cp -a 1.7 s,
    // then 20–33 s after rm -rf + sync of the previous copy).
    let writeCpA: FloorRun | null = null;
    let writeTarX: FloorRun | null = null;
    if (opts.writes) {
      const writeReps = counts.bytes > 1e9 ? 1 : 2;
      let n = 0;
      const fresh = (): string => {
        const dir = join(scratch, `target-${++n}`);
        mkdirSync(dir);
        sh("sync", []);
        warm();
        return dir;
      };
      let dir = "";
      writeCpA = strip(await runFloor(`${dataset}-write-cp-a`, "", { cold: false, reps: writeReps, before: () => (dir = fresh()), script: () => `cp -a ${sq(src)} ${sq(dir)}/` }));
      writeTarX = strip(await runFloor(`${dataset}-write-tar-x`, "", { cold: false, reps: writeReps, before: () => (dir = fresh()), script: () => `tar -xf ${sq(tar)} -C ${sq(dir)}` }));
      for (let i = 1; i <= n; i++) rmrf(join(scratch, `target-${i}`));
    }

    const zst = join(scratch, "tree.tar.zst");
    const zstd3 = await runFloor(`${dataset}-zstd3`, `zstd -3 -T1 -q -f ${sq(tar)} -o ${sq(zst)}`, { cold: false, reps: warmReps });
    const zstdBytes = statSync(zst).size;
    const zstdDecompress = await runFloor(`${dataset}-unzstd`, `zstd -d -T1 -q -c ${sq(zst)} >/dev/null`, { cold: false, reps: warmReps });
    const out = join(scratch, "append.bin");
    const writeCompressedSync = await runFloor(`${dataset}-write-sync`, `dd if=${sq(zst)} of=${sq(out)} bs=1M conv=fdatasync status=none`, {
      cold: false,
      reps: warmReps,
      before: () => {
        rmrf(out);
        sh("sync", []);
        sh("cat", [zst]);
      },
    });
    const readCompressedCold = await runFloor(`${dataset}-read-compressed`, `cat ${sq(zst)} >/dev/null`, { cold: true, reps: coldReps });
    return {
      dataset,
      entries: counts.entries,
      files: counts.files,
      fileBytes: counts.bytes,
      walkFindCold: strip(walkFindCold),
      walkFindParallelCold: strip(walkFindParallelCold),
      walkFindWarm: strip(walkFindWarm),
      walkNodeCold: strip(nodeWalk),
      readCold: strip(readCold),
      readParallelCold: strip(readParallelCold),
      writeCpA,
      writeTarX,
      zstd3: strip(zstd3),
      zstd3Blocks: compressBlocks(tar),
      zstdDecompress: strip(zstdDecompress),
      tarBytes,
      zstdBytes,
      writeCompressedSync: strip(writeCompressedSync),
      readCompressedCold: strip(readCompressedCold),
    };
  } finally {
    rmrf(scratch);
  }
}

/**
 * zstd level 3 over a file in 64 KiB blocks with the library suede uses: the CLI's one stream uses
 * larger tables and measured about half as fast per CPU-second, so it alone would overstate the floor.
 */
function compressBlocks(file: string): { cpuS: number; bytes: number } {
  const cmp = new zstd.Compressor();
  cmp.setParameters({ compressionLevel: 3 });
  const buf = Buffer.alloc(1024 * 1024);
  let best = Number.POSITIVE_INFINITY;
  let bytes = 0;
  for (let i = 0; i < 3; i++) {
    const fd = openSync(file, "r");
    bytes = 0;
    const c0 = process.cpuUsage();
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      for (let off = 0; off < n; off += 64 * 1024) bytes += cmp.compress(buf.subarray(off, Math.min(n, off + 64 * 1024))).length;
    }
    const c = process.cpuUsage(c0);
    closeSync(fd);
    best = Math.min(best, (c.user + c.system) / 1e6);
  }
  log(`  floor zstd-3 in 64 KiB blocks (zstd-napi): ${best.toFixed(2)} CPU-s → ${(bytes / 1e6).toFixed(0)} MB`);
  return { cpuS: best, bytes };
}

/** AES-256-GCM (64 KiB records, suede's average chunk) and keyed BLAKE3 in this process: MB per CPU-second, the best of 3. */
export function measureCryptoRates(): CryptoRates {
  const total = 256 * 1024 * 1024;
  const block = randomFillSync(Buffer.alloc(1024 * 1024));
  const perCpu = (fn: () => void): number => {
    const xs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c0 = process.cpuUsage();
      fn();
      const c = process.cpuUsage(c0);
      xs.push(total / 1e6 / ((c.user + c.system) / 1e6));
    }
    return Math.max(...xs);
  };
  const key = randomBytes(32);
  const piece = block.subarray(0, 64 * 1024);
  const aesGcmMBPerCpuS = perCpu(() => {
    for (let off = 0; off < total; off += piece.length) {
      const c = createCipheriv("aes-256-gcm", key, randomBytes(12));
      c.update(piece);
      c.final();
      c.getAuthTag();
    }
  });
  const blake3MBPerCpuS = perCpu(() => {
    for (let off = 0; off < total; off += block.length) Blake3Hasher.newKeyed(key).update(block).digestBuffer();
  });
  log(`floors: AES-256-GCM ${aesGcmMBPerCpuS.toFixed(0)} MB per CPU-s, keyed BLAKE3 ${blake3MBPerCpuS.toFixed(0)} MB per CPU-s`);
  return { aesGcmMBPerCpuS, blake3MBPerCpuS };
}

export async function measureProcessFloors(): Promise<ProcessFloors> {
  sh(process.execPath, ["-e", "0"]);
  const nodeStart = await runFloor("node-e-0", `${sq(process.execPath)} -e 0`, { cold: false, reps: 5 });
  return { nodeStart: strip(nodeStart) };
}

const KDF_LINE = /unlock KDF \(Argon2id t=(\d+), m=(\d+) (MiB|KiB), p=(\d+)\) (\d+) ms/;

/**
 * The default-KDF unlock of a data set's suede vault, timed by suede itself (SUEDE_DEBUG=1 prints
 * each Argon2id run) over 3 warm `snapshots` runs, then the same derivation alone for its memory.
 */
export async function measureUnlockFloors(list: { cmd: string; args: readonly string[] }, env: NodeJS.ProcessEnv): Promise<UnlockFloors> {
  const kdfMs: number[] = [];
  let t = 0;
  let memoryKiB = 0;
  let p = 0;
  for (let i = 0; i < 3; i++) {
    const r = sh(list.cmd, list.args, { env: { ...env, SUEDE_DEBUG: "1" } });
    const m = KDF_LINE.exec(r.stderr);
    if (r.code !== 0 || m === null) throw new Error(`no KDF timing from suede (exit ${r.code}): ${r.stderr.slice(0, 300)}`);
    t = Number(m[1]);
    memoryKiB = Number(m[2]) * (m[3] === "MiB" ? 1024 : 1);
    p = Number(m[4]);
    kdfMs.push(Number(m[5]));
  }
  const script =
    `import { hashRaw } from "@node-rs/argon2";` +
    `await hashRaw(Buffer.from("x"), { algorithm: 2, version: 1, timeCost: ${t}, memoryCost: ${memoryKiB}, parallelism: ${p}, outputLen: 32, salt: Buffer.alloc(32) });`;
  const kdfAlone = await runFloor("kdf-alone", `${sq(process.execPath)} --input-type=module -e ${sq(script)}`, {
    cold: false,
    reps: 3,
    cwd: REPO_ROOT,
    shown: `node -e "hashRaw(…)" (@node-rs/argon2, t=${t}, m=${memoryKiB} KiB, p=${p})`,
  });
  const params = `Argon2id t=${t}, m=${memoryKiB / 1024} MiB, p=${p}`;
  // calibrateKdf never goes below KDF_FLOOR: what the cheapest default suede allows would cost.
  const rfcFloorMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await deriveKek(new Uint8Array([1]), new Uint8Array(32), KDF_FLOOR);
    rfcFloorMs.push(Math.round(performance.now() - t0));
  }
  const rfcFloorParams = `Argon2id t=${KDF_FLOOR.iterations}, m=${KDF_FLOOR.memoryKiB / 1024} MiB, p=${KDF_FLOOR.parallelism}`;
  log(`floors: suede unlock KDF ${params}: ${kdfMs.join(", ")} ms; alone ${kdfAlone.wallS.toFixed(2)} s, ${kdfAlone.rssMiB.toFixed(0)} MiB peak RSS; at ${rfcFloorParams}: ${rfcFloorMs.join(", ")} ms`);
  return { kdfMs, params, kdfAlone: strip(kdfAlone), rfcFloorMs, rfcFloorParams };
}
