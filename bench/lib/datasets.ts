/**
 * The four data sets of issue 5. Each is built once per bench run (cached material under the work
 * dir), reset to its first state before every repetition, and changed step by step; every tool backs
 * up the same bytes at the same path after each step.
 */
import { createHash, type Hash } from "node:crypto";
import {
  appendFileSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { duBytes, log, rmrf, sh, shOk } from "./exec.ts";
import type { Which } from "./tools.ts";

export type Expected =
  | { readonly kind: "dir"; readonly ref: string; readonly source: string }
  | { readonly kind: "file"; readonly sha256: string; readonly source: string };

export interface Step {
  readonly name: string;
  apply(): void;
}

export interface Dataset {
  readonly name: string;
  readonly description: string;
  /** Absolute paths handed to every tool's backup. */
  readonly sources: readonly string[];
  /** Once per bench run: build or reuse cached material. */
  prepare(): void;
  /** Before every repetition: put the data into its first state. */
  reset(): void;
  readonly steps: readonly Step[];
  /** What the newest / oldest restore must equal (valid after the last step); null: not verified. */
  expected(which: Which): Expected | null;
  /** Removes the working copy (not the cached material) after the data set is done. */
  cleanup(): void;
  summary(): string;
}

export interface DatasetConfig {
  readonly work: string;
  readonly quick: boolean;
}

const MiB = 1024 * 1024;

/** Deterministic xorshift32 stream. */
class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed | 0) === 0 ? 0x9e3779b9 : seed | 0;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  fill(buf: Uint8Array): Uint8Array {
    let i = 0;
    for (; i + 4 <= buf.length; i += 4) {
      const v = this.next();
      buf[i] = v & 255;
      buf[i + 1] = (v >>> 8) & 255;
      buf[i + 2] = (v >>> 16) & 255;
      buf[i + 3] = v >>> 24;
    }
    for (; i < buf.length; i++) buf[i] = this.next() & 255;
    return buf;
  }
}

/** Regular files under root, depth first in name order (symlinks are not followed). */
function* walkFiles(root: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(root, e.name);
    if (e.isDirectory()) yield* walkFiles(p);
    else if (e.isFile()) yield p;
  }
}

// ---------------------------------------------------------------------------------------------------
// usr: a mixed tree copied from /usr

interface UsrMeta {
  readonly entries: string[];
  readonly bytes: number;
  readonly bigDirs: string[];
}

export function usrDataset(cfg: DatasetConfig): Dataset {
  const targetBytes = cfg.quick ? 300e6 : 2e9;
  const tag = `${Math.round(targetBytes / 1e6)}M`;
  const ref = join(cfg.work, "ref", `usr-${tag}`);
  const metaFile = `${ref}.json`;
  const data = join(cfg.work, "data", "usr");
  let meta: UsrMeta = { entries: [], bytes: 0, bigDirs: [] };

  function build(): void {
    rmrf(ref);
    const roots = ["lib", "share", "bin"];
    const lists = roots.map((d) =>
      readdirSync(`/usr/${d}`)
        .sort()
        .map((e) => `/usr/${d}/${e}`),
    );
    const sizes = new Map<string, number>();
    const all = lists.flat();
    for (let i = 0; i < all.length; i += 1000) {
      const r = sh("du", ["-sb", ...all.slice(i, i + 1000)], { quiet: true });
      for (const line of r.stdout.split("\n")) {
        const [n, p] = line.split("\t");
        if (n !== undefined && p !== undefined) sizes.set(p, Number.parseInt(n, 10));
      }
    }
    // Round robin over lib, share and bin in name order, so the tree mixes binaries, libraries, text,
    // scripts and docs; no single entry may take more than 40% of the budget.
    const chosen: string[] = [];
    let total = 0;
    const idx = roots.map(() => 0);
    let progress = true;
    while (progress && total < targetBytes * 0.98) {
      progress = false;
      for (let r = 0; r < roots.length; r++) {
        const list = lists[r]!;
        while (idx[r]! < list.length) {
          const p = list[idx[r]!]!;
          idx[r] = idx[r]! + 1;
          const size = sizes.get(p) ?? 0;
          if (size > targetBytes * 0.4 || total + size > targetBytes * 1.02) continue;
          chosen.push(p);
          total += size;
          progress = true;
          break;
        }
      }
    }
    for (const d of roots) {
      mkdirSync(join(ref, d), { recursive: true });
      const mine = chosen.filter((p) => p.startsWith(`/usr/${d}/`));
      for (let i = 0; i < mine.length; i += 300) shOk("cp", ["-a", ...mine.slice(i, i + 300), join(ref, d) + "/"]);
    }
    const dirs = chosen
      .filter((p) => lstatSync(p).isDirectory())
      .sort((a, b) => (sizes.get(b) ?? 0) - (sizes.get(a) ?? 0))
      .slice(0, 3)
      .map((p) => p.slice("/usr/".length));
    meta = { entries: chosen, bytes: duBytes(ref), bigDirs: dirs };
    writeFileSync(metaFile, JSON.stringify(meta, null, 1));
  }

  return {
    name: "usr",
    description: `copy of a mixed ~${tag}B tree from /usr/{lib,share,bin}`,
    sources: [data],
    prepare() {
      if (existsSync(metaFile) && existsSync(ref)) {
        meta = JSON.parse(readFileSync(metaFile, "utf8")) as UsrMeta;
        log(`usr: reusing ${ref} (${(meta.bytes / 1e6).toFixed(0)} MB, ${meta.entries.length} top entries)`);
        return;
      }
      log(`usr: building ${ref} (~${tag}B) …`);
      build();
      log(`usr: built ${(meta.bytes / 1e6).toFixed(0)} MB from ${meta.entries.length} entries; big dirs: ${meta.bigDirs.join(", ")}`);
    },
    reset() {
      rmrf(data);
      mkdirSync(dirname(data), { recursive: true });
      shOk("cp", ["-a", ref, data]);
    },
    steps: [
      { name: "1 first backup", apply() {} },
      { name: "2 no-change re-run", apply() {} },
      {
        name: "3 1% files appended",
        apply() {
          let i = 0;
          let changed = 0;
          for (const f of walkFiles(data)) {
            if (i++ % 100 === 50) {
              appendFileSync(f, `suede-bench change ${i}\n`);
              changed++;
            }
          }
          log(`usr: appended to ${changed} of ${i} files`);
        },
      },
      {
        name: "4 3 big dirs moved",
        apply() {
          const movedRoot = join(data, "moved");
          mkdirSync(movedRoot, { recursive: true });
          for (const rel of meta.bigDirs) {
            const from = join(data, rel);
            const to = join(movedRoot, `${basename(rel)}-renamed`);
            renameSync(from, to);
            log(`usr: moved ${rel} -> moved/${basename(to)}`);
          }
        },
      },
    ],
    expected: (w) => (w === "newest" ? { kind: "dir", ref: data, source: data } : { kind: "dir", ref, source: data }),
    cleanup: () => rmrf(data),
    summary: () =>
      `${(meta.bytes / 1e6).toFixed(0)} MB in ${meta.entries.length} top-level entries of /usr/{lib,share,bin}; moved dirs: ${meta.bigDirs.join(", ")}`,
  };
}

// ---------------------------------------------------------------------------------------------------
// bigfile: one large file of binaries and zero runs

export function bigfileDataset(cfg: DatasetConfig): Dataset {
  const size = cfg.quick ? 512 * MiB : 4096 * MiB;
  const dir = join(cfg.work, "data", "bigfile");
  const file = join(dir, "big.bin");
  let inputs: string[] = [];
  let sha1 = "";
  let sha2 = "";

  function generate(): string {
    const buf = Buffer.alloc(8 * MiB);
    const zeros = Buffer.alloc(8 * MiB);
    const hash = createHash("sha256");
    const out = openSync(file, "w");
    let written = 0;
    let sinceZeros = 0;
    const put = (b: Buffer, n: number) => {
      const take = Math.min(n, size - written);
      writeSync(out, b, 0, take);
      hash.update(b.subarray(0, take));
      written += take;
    };
    let k = 0;
    while (written < size) {
      const f = inputs[k++ % inputs.length]!;
      let fd: number;
      try {
        fd = openSync(f, "r");
      } catch {
        continue;
      }
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n <= 0 || written >= size) break;
        put(buf, n);
        sinceZeros += n;
      }
      closeSync(fd);
      if (sinceZeros >= 256 * MiB) {
        // A 32 MiB zero run after every ~256 MiB of binaries.
        for (let z = 0; z < 4 && written < size; z++) put(zeros, zeros.length);
        sinceZeros = 0;
      }
    }
    closeSync(out);
    return hash.digest("hex");
  }

  function mutate(): string {
    const prng = new Prng(0x5eed);
    const fd = openSync(file, "r+");
    for (let i = 0; i < 20; i++) {
      const off = Math.floor((((i + 0.5) / 20) * size) / 4096) * 4096 + (i % 3) * 1000;
      writeSync(fd, prng.fill(new Uint8Array(4096)), 0, 4096, off);
    }
    closeSync(fd);
    // A 1 MiB insertion in the middle: a streamed copy into a new file, renamed over the old one.
    const mid = Math.floor(size / 2) + 777;
    const tmp = `${file}.tmp`;
    const hash: Hash = createHash("sha256");
    const src = openSync(file, "r");
    const dst = openSync(tmp, "w");
    const buf = Buffer.alloc(8 * MiB);
    const copy = (from: number, to: number) => {
      let pos = from;
      while (pos < to) {
        const n = readSync(src, buf, 0, Math.min(buf.length, to - pos), pos);
        if (n <= 0) throw new Error("short read in bigfile copy");
        writeSync(dst, buf, 0, n);
        hash.update(buf.subarray(0, n));
        pos += n;
      }
    };
    copy(0, mid);
    const insert = Buffer.from(prng.fill(new Uint8Array(MiB)));
    writeSync(dst, insert);
    hash.update(insert);
    copy(mid, size);
    closeSync(src);
    closeSync(dst);
    renameSync(tmp, file);
    return hash.digest("hex");
  }

  return {
    name: "bigfile",
    description: `one ${size / MiB} MiB file of concatenated /usr/lib binaries and 32 MiB zero runs`,
    sources: [dir],
    prepare() {
      inputs = [];
      for (const f of walkFiles("/usr/lib")) {
        try {
          if (lstatSync(f).size >= 16 * 1024) inputs.push(f);
        } catch {
          /* vanished */
        }
      }
      if (inputs.length === 0) throw new Error("no input files under /usr/lib");
      log(`bigfile: ${inputs.length} input binaries under /usr/lib`);
    },
    reset() {
      rmrf(dir);
      mkdirSync(dir, { recursive: true });
      const t0 = Date.now();
      sha1 = generate();
      log(`bigfile: generated ${size / MiB} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s, sha256 ${sha1.slice(0, 16)}…`);
    },
    steps: [
      { name: "1 first backup", apply() {} },
      {
        name: "2 20x4KiB overwrites + 1MiB insert",
        apply() {
          const t0 = Date.now();
          sha2 = mutate();
          log(`bigfile: mutated in ${((Date.now() - t0) / 1000).toFixed(1)} s, sha256 ${sha2.slice(0, 16)}…`);
        },
      },
    ],
    expected: (w) => ({ kind: "file", sha256: w === "newest" ? sha2 : sha1, source: file }),
    cleanup: () => rmrf(dir),
    summary: () => `${size / MiB} MiB from ${inputs.length} binaries; step 2 = 20 scattered 4 KiB overwrites, then 1 MiB inserted at the middle`,
  };
}

// ---------------------------------------------------------------------------------------------------
// srchist: ten successive releases of a source package

export const SRCHIST_PACKAGE = "typescript";
export const SRCHIST_VERSIONS = ["5.0.4", "5.1.6", "5.2.2", "5.3.3", "5.4.5", "5.5.4", "5.6.3", "5.7.3", "5.8.3", "5.9.3"] as const;

export function srchistDataset(cfg: DatasetConfig): Dataset {
  const cache = join(cfg.work, "cache", "npm");
  const refRoot = join(cfg.work, "ref", "srchist");
  const tree = join(cfg.work, "data", "srchist", "tree");
  const versionDir = (i: number) => join(refRoot, `v${String(i + 1).padStart(2, "0")}-${SRCHIST_VERSIONS[i]}`, "package");
  let bytesPerVersion: number[] = [];

  return {
    name: "srchist",
    description: `ten releases of the npm package ${SRCHIST_PACKAGE} (${SRCHIST_VERSIONS[0]} … ${SRCHIST_VERSIONS[9]}) checked out in turn into one directory`,
    sources: [tree],
    prepare() {
      mkdirSync(cache, { recursive: true });
      bytesPerVersion = [];
      SRCHIST_VERSIONS.forEach((v, i) => {
        const tgz = join(cache, `${SRCHIST_PACKAGE}-${v}.tgz`);
        if (!existsSync(tgz)) {
          log(`srchist: npm pack ${SRCHIST_PACKAGE}@${v}`);
          shOk("npm", ["pack", `${SRCHIST_PACKAGE}@${v}`, "--pack-destination", cache, "--silent"], { cwd: cache, timeoutS: 600 });
        }
        const dst = versionDir(i);
        if (!existsSync(join(dst, "package.json"))) {
          rmrf(dirname(dst));
          mkdirSync(dirname(dst), { recursive: true });
          shOk("tar", ["-xzf", tgz, "-C", dirname(dst)]);
        }
        bytesPerVersion.push(duBytes(dst));
      });
      log(`srchist: versions ready (${bytesPerVersion.map((b) => (b / 1e6).toFixed(0)).join(", ")} MB)`);
    },
    reset() {
      rmrf(dirname(tree));
      mkdirSync(tree, { recursive: true });
    },
    // Like a git checkout: only files whose content differs are rewritten (and get a new mtime), the
    // rest keep theirs; files gone from the release are deleted.
    steps: SRCHIST_VERSIONS.map((v, i) => ({
      name: `${String(i + 1).padStart(2, "0")} ${SRCHIST_PACKAGE}@${v}`,
      apply() {
        shOk("rsync", ["-rl", "--checksum", "--delete", `${versionDir(i)}/`, `${tree}/`]);
      },
    })),
    expected: (w) => ({ kind: "dir", ref: versionDir(w === "newest" ? SRCHIST_VERSIONS.length - 1 : 0), source: tree }),
    cleanup: () => rmrf(dirname(tree)),
    summary: () =>
      `${SRCHIST_PACKAGE} ${SRCHIST_VERSIONS.join(", ")}; unpacked ${bytesPerVersion.map((b) => (b / 1e6).toFixed(0)).join("/")} MB; each step rsync --checksum --delete of the next release`,
  };
}

// ---------------------------------------------------------------------------------------------------
// manyfiles: a synthetic tree of many small files

export function manyfilesDataset(cfg: DatasetConfig): Dataset {
  const count = cfg.quick ? 100_000 : 1_000_000;
  const tree = join(cfg.work, "data", `manyfiles-${count}`);
  const marker = `${tree}.done`;
  const perDir = 1000;

  function generate(): void {
    rmrf(tree);
    const prng = new Prng(12345);
    const buf = new Uint8Array(4096);
    const letters = Buffer.from("abcdefghijklmnop\n ");
    let bytes = 0;
    for (let d = 0; d * perDir < count; d++) {
      // Two levels: 100 top dirs, each with 10 dirs of 1000 files (at 1M files).
      const dir = join(tree, `t${String(Math.floor(d / 10)).padStart(3, "0")}`, `d${String(d % 10)}`);
      mkdirSync(dir, { recursive: true });
      for (let j = 0; j < perDir && d * perDir + j < count; j++) {
        const n = 32 + (prng.next() % 2016);
        for (let k = 0; k < n; k++) buf[k] = letters[prng.next() % letters.length]!;
        writeFileSync(join(dir, `f${String(j).padStart(4, "0")}.txt`), buf.subarray(0, n));
        bytes += n;
      }
    }
    writeFileSync(marker, JSON.stringify({ count, bytes }));
  }

  return {
    name: "manyfiles",
    description: `synthetic tree of ${count.toLocaleString("en-US")} small files (32 B – 2 KiB)`,
    sources: [tree],
    prepare() {
      if (existsSync(marker) && existsSync(tree)) {
        log(`manyfiles: reusing ${tree}`);
        return;
      }
      log(`manyfiles: generating ${count} files …`);
      const t0 = Date.now();
      generate();
      log(`manyfiles: generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    },
    reset() {},
    steps: [
      { name: "1 first backup", apply() {} },
      { name: "2 no-change re-run", apply() {} },
    ],
    expected: () => null,
    cleanup() {},
    summary: () => {
      const m = existsSync(marker) ? (JSON.parse(readFileSync(marker, "utf8")) as { count: number; bytes: number }) : { count, bytes: 0 };
      return `${m.count.toLocaleString("en-US")} files, ${(m.bytes / 1e6).toFixed(0)} MB of content, 1000 files per directory`;
    },
  };
}

export const DATASET_NAMES = ["usr", "bigfile", "srchist", "manyfiles"] as const;

export function makeDataset(name: string, cfg: DatasetConfig): Dataset {
  switch (name) {
    case "usr":
      return usrDataset(cfg);
    case "bigfile":
      return bigfileDataset(cfg);
    case "srchist":
      return srchistDataset(cfg);
    case "manyfiles":
      return manyfilesDataset(cfg);
    default:
      throw new Error(`unknown data set ${name}; one of ${DATASET_NAMES.join(", ")}`);
  }
}
