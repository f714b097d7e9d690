/**
 * The issue-5 targets against the physical floors of the same run (bench/lib/floors.ts): per target,
 * the wall time needed (peer ÷ factor), the floor suede cannot go below, suede's own time, and a
 * verdict. A floor combines parts with max() where a tool could overlap them and with + only where
 * one must wait for the other (nothing is decrypted before the key is derived, nothing runs before
 * node has started), so it stays a lower bound.
 */
import type { CryptoRates, DataFloors, FloorRun, ProcessFloors, UnlockFloors } from "./floors.ts";
import type { VaultBytes } from "./padding.ts";
import { median, type Measure } from "./report.ts";

export interface FloorInputs {
  readonly process: ProcessFloors;
  readonly rates: CryptoRates;
  readonly data: DataFloors;
  /** null when suede did not run on the data set (its KDF cost is then unknown). */
  readonly unlock: UnlockFloors | null;
  readonly vault: VaultBytes | null;
}

/** The floors one target's verdict uses, in seconds (MiB for memory). */
export interface Parts {
  readonly node: number;
  /** The vault's own default KDF (calibrated at init to about 0.5 s), best of suede's timer. */
  readonly kdf: number;
  /** The same at the lowest parameters suede allows as a default (KDF_FLOOR). */
  readonly kdfRfcFloor: number;
  readonly walk: number;
  readonly read: number;
  readonly write: number;
  readonly cpuBackup: number;
  readonly cpuRestore: number;
  readonly cpuHashOnly: number;
  readonly syncWrite: number;
  readonly vaultRead: number;
  readonly kdfRssMiB: number;
}

/**
 * A floor within this fraction of the needed time decides nothing: the bench's own run-to-run spread
 * on this shared machine is ±10–20%, and every floor leaves out work suede must also do (chunking,
 * parsing its own trees, messages between threads).
 */
export const INCONCLUSIVE_FRACTION = 0.75;

export interface TargetRow {
  readonly target: string;
  readonly peer: string;
  readonly peerValue: number;
  readonly factor: number;
  readonly needed: number;
  readonly floor: number;
  readonly formula: string;
  readonly suede: number;
  readonly unit: "s" | "MiB";
  readonly verdict: string;
}

const CORES = 2;
const min = (...runs: (FloorRun | null)[]): number => Math.min(...runs.map((r) => r?.wallS ?? Number.NaN));

export function parts(f: FloorInputs): Parts {
  const d = f.data;
  const aes = (bytes: number) => bytes / 1e6 / f.rates.aesGcmMBPerCpuS;
  const blake3 = (bytes: number) => bytes / 1e6 / f.rates.blake3MBPerCpuS;
  return {
    node: f.process.nodeStart.wallS,
    kdf: f.unlock === null ? Number.NaN : Math.min(...f.unlock.kdfMs) / 1000,
    kdfRfcFloor: f.unlock === null ? Number.NaN : Math.min(...f.unlock.rfcFloorMs) / 1000,
    walk: min(d.walkFindCold, d.walkFindParallelCold),
    read: min(d.readCold, d.readParallelCold),
    write: min(d.writeCpA, d.writeTarX),
    // The cheaper of zstd's CLI stream and suede's 64 KiB blocks, with the bytes it produced.
    cpuBackup: d.zstd3Blocks.cpuS < d.zstd3.cpuS ? d.zstd3Blocks.cpuS + blake3(d.fileBytes) + aes(d.zstd3Blocks.bytes) : d.zstd3.cpuS + blake3(d.fileBytes) + aes(d.zstdBytes),
    cpuRestore: d.zstdDecompress.cpuS + aes(d.zstdBytes),
    cpuHashOnly: blake3(d.fileBytes),
    syncWrite: d.writeCompressedSync.wallS,
    vaultRead: d.readCompressedCold.wallS,
    kdfRssMiB: f.unlock === null ? Number.NaN : f.unlock.kdfAlone.rssMiB,
  };
}

export function verdict(needed: number, floor: number, unit: "s" | "MiB" = "s"): string {
  if (!Number.isFinite(needed) || !Number.isFinite(floor)) return "not measured";
  if (floor > needed) return `below the floor by ${(floor - needed).toFixed(unit === "s" ? 2 : 0)} ${unit}: physically impossible here`;
  if (floor > INCONCLUSIVE_FRACTION * needed) return "the floor alone is not conclusive";
  return "reachable";
}

/** Median wall (or peak RSS) of the ok runs of one tool at one step. */
function stat(measures: readonly Measure[], ds: string, kind: string, step: RegExp, tool: string, what: "wall" | "rss"): number {
  const ms = measures.filter((m) => m.dataset === ds && m.kind === kind && step.test(m.step) && m.tool === tool && m.timing.ok);
  return median(ms.map((m) => (what === "wall" ? m.timing.wallS : m.timing.maxRssKiB / 1024)));
}

/** The faster (lower) of the peers measured; its name and value. */
function best(measures: readonly Measure[], ds: string, kind: string, step: RegExp, peers: readonly string[], what: "wall" | "rss"): { peer: string; value: number } {
  let out = { peer: "–", value: Number.NaN };
  for (const p of peers) {
    const v = stat(measures, ds, kind, step, p, what);
    if (Number.isFinite(v) && !(v >= out.value)) out = { peer: p, value: v };
  }
  return out;
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "?");

export function targetRows(ds: string, f: FloorInputs, measures: readonly Measure[]): TargetRow[] {
  const p = parts(f);
  const rows: TargetRow[] = [];
  const add = (target: string, kind: string, step: RegExp, peers: readonly string[], factor: number, floor: number, formula: string, suedeMinus = 0) => {
    const suede = stat(measures, ds, kind, step, "suede", "wall") - suedeMinus;
    const b = best(measures, ds, kind, step, peers, "wall");
    if (!Number.isFinite(b.value)) return; // the peer did not run: nothing to judge
    const needed = b.value / factor;
    rows.push({ target, peer: b.peer, peerValue: b.value, factor, needed, floor, formula, suede, unit: "s", verdict: verdict(needed, floor) });
  };
  const firstFloor = p.node + Math.max(p.kdf, p.read, p.cpuBackup / CORES, p.syncWrite);
  const firstFormula = `node ${f2(p.node)} + max(KDF ${f2(p.kdf)}, cold read ${f2(p.read)}, CPU ${f2(p.cpuBackup)} ÷ ${CORES}, write+fdatasync ${f2(p.syncWrite)})`;
  const walkFloor = p.node + Math.max(p.kdf, p.walk);
  const walkFormula =
    `node ${f2(p.node)} + max(KDF ${f2(p.kdf)}, cold walk ${f2(p.walk)}) (in sequence, as suede runs today: ${f2(p.node + p.kdf + p.walk)}; ` +
    `with the KDF at RFC 9106's floor: ${f2(p.node + Math.max(p.kdfRfcFloor, p.walk))})`;
  const restoreFloor = p.node + Math.max(p.kdf + Math.max(p.write, p.cpuRestore / CORES), p.vaultRead);
  const restoreFormula = `node ${f2(p.node)} + max(KDF ${f2(p.kdf)} + max(write ${f2(p.write)}, CPU ${f2(p.cpuRestore)} ÷ ${CORES}), cold vault read ${f2(p.vaultRead)})`;
  const faster = ["restic", "borg"];
  const allPeers = ["restic", "borg", "zpaq"];

  if (ds === "usr") add("first backup ≥ 3× the faster of restic and Borg", "backup", /^1 /, faster, 3, firstFloor, firstFormula);
  if (ds === "bigfile") {
    add("first backup ≥ 2× the faster peer", "backup", /^1 /, allPeers, 2, firstFloor, firstFormula);
    const editFloor = p.node + Math.max(p.kdf, p.read, p.cpuHashOnly / CORES);
    add("edit ≥ 2× the faster peer", "backup", /^2 /, allPeers, 2, editFloor, `node ${f2(p.node)} + max(KDF ${f2(p.kdf)}, cold read ${f2(p.read)}, BLAKE3 ${f2(p.cpuHashOnly)} ÷ ${CORES})`);
  }
  add("no-change re-run ≥ 5× restic", "backup", /no-change/, ["restic"], 5, walkFloor, walkFormula);
  add("no-change re-run faster than zpaq, suede's KDF set aside", "backup", /no-change/, ["zpaq"], 1, p.node + p.walk, `node ${f2(p.node)} + cold walk ${f2(p.walk)}; suede's wall less its KDF`, p.kdf);
  add("1% re-run ≥ 3× restic", "backup", /1% files/, ["restic"], 3, walkFloor, `${walkFormula}; the 1% of bytes read is left out`);
  add("restore newest ≥ 1.5× the faster of restic and Borg", "restore", /newest/, faster, 1.5, restoreFloor, restoreFormula);
  add("restore oldest ≥ 1.5× the faster of restic and Borg", "restore", /oldest/, faster, 1.5, restoreFloor, restoreFormula);

  // Memory: the lowest peer peak over every step against suede's highest.
  const steps = [...new Set(measures.filter((m) => m.dataset === ds).map((m) => `${m.kind}\u0000${m.step}`))];
  let peer = { peer: "–", value: Number.NaN };
  let suedeRss = Number.NaN;
  for (const s of steps) {
    const [kind, name] = s.split("\u0000") as [string, string];
    const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
    const b = best(measures, ds, kind, re, faster, "rss");
    if (Number.isFinite(b.value) && !(b.value >= peer.value)) peer = { peer: `${b.peer} (${name})`, value: b.value };
    const mine = stat(measures, ds, kind, re, "suede", "rss");
    if (Number.isFinite(mine) && !(mine <= suedeRss)) suedeRss = mine;
  }
  if (Number.isFinite(peer.value) || Number.isFinite(suedeRss)) {
    rows.push({
      target: "peak RSS ≤ the lower of restic and Borg, every step",
      peer: peer.peer,
      peerValue: peer.value,
      factor: 1,
      needed: peer.value,
      floor: p.kdfRssMiB,
      formula: `node + one Argon2id derivation with the vault's parameters (${f.unlock?.params ?? "?"}), nothing else: ${f2(p.kdfRssMiB)} MiB (node -e 0: ${f2(f.process.nodeStart.rssMiB)} MiB)`,
      suede: suedeRss,
      unit: "MiB",
      verdict: verdict(peer.value, p.kdfRssMiB, "MiB"),
    });
  }
  return rows;
}

const mib = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 1048576).toFixed(1) : "–");
const fmtRun = (r: FloorRun) => `${r.wallS.toFixed(2)}${r.runs.length > 1 ? ` (${r.runs.map((x) => x.toFixed(2)).join(", ")})` : ""}`;

/** The "Physical floors" section of one data set in the report. */
export function renderFloors(ds: string, f: FloorInputs, measures: readonly Measure[]): string {
  const d = f.data;
  const p = parts(f);
  const out: string[] = [
    `### Physical floors: ${ds}`,
    "",
    `${d.files.toLocaleString("en-US")} files (${d.entries.toLocaleString("en-US")} entries), ${(d.fileBytes / 1e6).toFixed(0)} MB; walk and read floors cold (page cache dropped before each run, as for the tools), write and CPU floors from the page cache. Each floor is the best of its runs (runs in parentheses): load from other processes only adds time. The KDF is the best of suede's own timer over 3 runs. ` +
      `Load from other processes inflates floors too (cold walks measured 0.29 s and 0.94 s an hour apart here): trust "impossible" only from a run the header does not flag as loaded.`,
    "",
    "| floor | command | wall s | CPU s |",
    "|---|---|--:|--:|",
  ];
  const row = (name: string, r: FloorRun | null) => r !== null && out.push(`| ${name} | \`${r.command.replace(/\|/g, "\\|").replace(/'(\/[^']*)'/g, "$1")}\` | ${fmtRun(r)} | ${r.cpuS.toFixed(2)} |`);
  row("process: node start", f.process.nodeStart);
  if (f.unlock !== null) {
    out.push(`| unlock: suede's default KDF in this vault (${f.unlock.params}, calibrated at init) | \`SUEDE_DEBUG=1 suede snapshots\`, KDF line | ${(p.kdf).toFixed(2)} (${f.unlock.kdfMs.map((x) => (x / 1000).toFixed(2)).join(", ")}) | |`);
    row(`unlock alone: node + Argon2id, peak RSS ${f.unlock.kdfAlone.rssMiB.toFixed(0)} MiB`, f.unlock.kdfAlone);
    out.push(
      `| unlock at the lowest default suede allows (${f.unlock.rfcFloorParams}, RFC 9106; calibration only raises t) | \`deriveKek\` in the bench process | ${p.kdfRfcFloor.toFixed(2)} (${f.unlock.rfcFloorMs.map((x) => (x / 1000).toFixed(2)).join(", ")}) | |`,
    );
  }
  row("walk: find, one process, cold", d.walkFindCold);
  row("walk: find, 8 in parallel, cold", d.walkFindParallelCold);
  row("walk: find, warm", d.walkFindWarm);
  row("walk: node readdir + lstat (bigint), cold, node start included", d.walkNodeCold);
  row("read: every file, one stream, cold", d.readCold);
  row("read: every file, 4 streams, cold", d.readParallelCold);
  row("write: cp -a into a fresh directory, source in page cache", d.writeCpA);
  row("write: tar -x of an uncompressed tar in page cache", d.writeTarX);
  row(`CPU: zstd -3 -T1 of a ${(d.tarBytes / 1e6).toFixed(0)} MB tar → ${(d.zstdBytes / 1e6).toFixed(0)} MB`, d.zstd3);
  out.push(`| CPU: zstd level 3 of that tar in 64 KiB blocks (zstd-napi, as suede) → ${(d.zstd3Blocks.bytes / 1e6).toFixed(0)} MB | bench process | | ${d.zstd3Blocks.cpuS.toFixed(2)} |`);
  row("CPU: zstd -d -T1 of that", d.zstdDecompress);
  row(`write: the ${(d.zstdBytes / 1e6).toFixed(0)} MB compressed, fdatasync`, d.writeCompressedSync);
  row(`read: the ${(d.zstdBytes / 1e6).toFixed(0)} MB compressed, cold`, d.readCompressedCold);
  out.push(
    "",
    `CPU per byte (this process, one thread): AES-256-GCM ${f.rates.aesGcmMBPerCpuS.toFixed(0)} MB/CPU-s, keyed BLAKE3 ${f.rates.blake3MBPerCpuS.toFixed(0)} MB/CPU-s. ` +
      `Backup CPU floor = zstd-3 (the cheaper of the two) + BLAKE3 of ${(d.fileBytes / 1e6).toFixed(0)} MB + AES-GCM of the compressed bytes = ${p.cpuBackup.toFixed(2)} CPU-s; ` +
      `restore CPU floor = zstd -d + AES-GCM = ${p.cpuRestore.toFixed(2)} CPU-s; ${CORES} cores.`,
    "",
    "| target | faster peer | needed | floor | floor = | suede | suede − floor | verdict |",
    "|---|---|--:|--:|---|--:|--:|---|",
  );
  for (const r of targetRows(ds, f, measures)) {
    const u = r.unit === "s" ? " s" : " MiB";
    const v = (x: number) => (Number.isFinite(x) ? `${x.toFixed(r.unit === "s" ? 2 : 0)}${u}` : "–");
    out.push(
      `| ${r.target} | ${r.peer} ${v(r.peerValue)}${r.factor !== 1 ? ` ÷ ${r.factor}` : ""} | ${v(r.needed)} | ${v(r.floor)} | ${r.formula} | ${v(r.suede)} | ${v(r.suede - r.floor)} | ${r.verdict.startsWith("below") ? `**${r.verdict}**` : r.verdict} |`,
    );
  }
  if (f.vault !== null) {
    const v = f.vault;
    const restic = lastRepoBytes(measures, ds, "restic");
    out.push(
      "",
      `Vault bytes after the last backup step (rep 1): ${mib(v.fileBytes)} MiB = payload ${mib(v.payloadBytes)} + Padmé padding ${mib(v.paddingBytes)} ` +
        `(${((100 * v.paddingBytes) / v.payloadBytes).toFixed(1)}% of the payload) + framing ${mib(v.framingBytes)} (96 B × ${v.records.toLocaleString("en-US")} records) + header, index and checkpoints ${mib(v.otherBytes)}. ` +
        `Without the padding: ${mib(v.fileBytes - v.paddingBytes)} MiB against restic's ${mib(restic)} MiB` +
        (Number.isFinite(restic) ? ` (${(((v.fileBytes - v.paddingBytes) / restic - 1) * 100).toFixed(1)}%; with it ${((v.fileBytes / restic - 1) * 100).toFixed(1)}%).` : "."),
    );
  }
  return `${out.join("\n")}\n`;
}

/** The repository size of a tool after the last backup step of rep 1. */
export function lastRepoBytes(measures: readonly Measure[], ds: string, tool: string): number {
  const ms = measures.filter((m) => m.dataset === ds && m.tool === tool && m.kind === "backup" && m.rep === 1);
  if (ms.length === 0) return Number.NaN;
  return ms.reduce((a, b) => (b.stepIndex > a.stepIndex ? b : a)).repoBytes;
}
