/** Markdown tables of the results. */
import type { Ceiling } from "./ceilings.ts";
import type { Timing } from "./exec.ts";

export interface SuedeBackupJson {
  readonly filesNew?: number;
  readonly filesChanged?: number;
  readonly filesUnchanged?: number;
  readonly bytesRead?: number;
  readonly bytesAdded?: number;
  readonly durationMs?: number;
}

export interface Measure {
  readonly dataset: string;
  readonly step: string;
  readonly stepIndex: number;
  readonly kind: "backup" | "restore";
  readonly tool: string;
  readonly rep: number;
  readonly timing: Timing;
  readonly repoBytes: number;
  readonly suede?: SuedeBackupJson;
}

export interface Verification {
  readonly dataset: string;
  readonly tool: string;
  readonly which: string;
  readonly rep: number;
  readonly ok: boolean;
  readonly summary: string;
}

export interface UnlockCost {
  readonly tool: string;
  readonly command: string;
  readonly wallS: number[];
  readonly note: string;
}

export interface DatasetInfo {
  readonly name: string;
  readonly description: string;
  readonly summary: string;
  readonly status: string;
}

export interface Report {
  readonly title: string;
  readonly header: string[];
  readonly ceilings: Ceiling[];
  readonly unlock: UnlockCost[];
  readonly datasets: DatasetInfo[];
  readonly measures: Measure[];
  readonly verifications: Verification[];
  readonly toolOrder: string[];
  /** Rendered "Physical floors" section per data set (bench/lib/floor-targets.ts). */
  readonly floors: ReadonlyMap<string, string>;
}

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function f(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

function ratio(x: number, base: number): string {
  if (!Number.isFinite(x) || !Number.isFinite(base) || base <= 0) return "–";
  return `${(x / base).toFixed(2)}×`;
}

interface Agg {
  wall: number;
  wallMin: number;
  wallMax: number;
  cpu: number;
  rssMiB: number;
  repoMiB: number;
  okRuns: number;
  runs: number;
  status: string;
}

function aggregate(ms: readonly Measure[]): Agg {
  const ok = ms.filter((m) => m.timing.ok);
  const walls = ok.map((m) => m.timing.wallS);
  const failed = ms.filter((m) => !m.timing.ok);
  let status = "";
  if (failed.length > 0) {
    status = failed.some((m) => m.timing.timedOut) ? "TIMEOUT" : `FAIL(exit ${failed[0]!.timing.code})`;
  }
  return {
    wall: median(walls),
    wallMin: walls.length > 0 ? Math.min(...walls) : Number.NaN,
    wallMax: walls.length > 0 ? Math.max(...walls) : Number.NaN,
    cpu: median(ok.map((m) => m.timing.userS + m.timing.sysS)),
    rssMiB: median(ok.map((m) => m.timing.maxRssKiB / 1024)),
    repoMiB: median(ms.map((m) => m.repoBytes / (1024 * 1024))),
    okRuns: ok.length,
    runs: ms.length,
    status,
  };
}

export function datasetTable(ds: string, measures: readonly Measure[], toolOrder: readonly string[]): string {
  const mine = measures.filter((m) => m.dataset === ds);
  if (mine.length === 0) return "_no measurements_\n";
  const steps = [...new Map(mine.map((m) => [`${m.kind === "restore" ? 1 : 0}:${String(m.stepIndex).padStart(3, "0")}`, m])).entries()].sort((a, b) =>
    a[0].localeCompare(b[0]),
  );
  const lines = [
    "| step | tool | wall s (median) | CPU s (user+sys) | peak RSS MiB | repo MiB | wall ×suede | repo ×suede | ok/runs |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const [, first] of steps) {
    const ofStep = mine.filter((m) => m.kind === first.kind && m.stepIndex === first.stepIndex);
    const byTool = new Map<string, Agg>();
    for (const t of toolOrder) {
      const ms = ofStep.filter((m) => m.tool === t);
      if (ms.length > 0) byTool.set(t, aggregate(ms));
    }
    const base = byTool.get("suede");
    for (const [t, a] of byTool) {
      const wall = Number.isFinite(a.wall)
        ? a.runs > 1 && a.okRuns > 1
          ? `${f(a.wall, 2)} (${f(a.wallMin, 1)}–${f(a.wallMax, 1)})`
          : f(a.wall, 2)
        : "–";
      const isRestore = first.kind === "restore";
      lines.push(
        `| ${first.step} | ${t} | ${wall}${a.status !== "" ? ` **${a.status}**` : ""} | ${f(a.cpu, 2)} | ${f(a.rssMiB, 0)} | ${isRestore ? "" : f(a.repoMiB, 1)} | ${
          t === "suede" ? "1.00×" : ratio(a.wall, base?.wall ?? Number.NaN)
        } | ${isRestore ? "" : t === "suede" ? "1.00×" : ratio(a.repoMiB, base?.repoMiB ?? Number.NaN)} | ${a.okRuns}/${a.runs} |`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

function suedeDetail(ds: string, measures: readonly Measure[]): string {
  const mine = measures.filter((m) => m.dataset === ds && m.tool === "suede" && m.kind === "backup" && m.suede !== undefined);
  if (mine.length === 0) return "";
  const lastRep = Math.max(...mine.map((m) => m.rep));
  const rows = mine.filter((m) => m.rep === lastRep).sort((a, b) => a.stepIndex - b.stepIndex);
  const lines = [
    `suede's own report (rep ${lastRep}): `,
    "",
    "| step | filesNew | filesChanged | filesUnchanged | bytesRead MiB | bytesAdded MiB | durationMs |",
    "|---|--:|--:|--:|--:|--:|--:|",
  ];
  for (const m of rows) {
    const s = m.suede!;
    lines.push(
      `| ${m.step} | ${s.filesNew ?? "?"} | ${s.filesChanged ?? "?"} | ${s.filesUnchanged ?? "?"} | ${f((s.bytesRead ?? Number.NaN) / 1048576, 1)} | ${f(
        (s.bytesAdded ?? Number.NaN) / 1048576,
        1,
      )} | ${s.durationMs ?? "?"} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function verificationTable(ds: string, vs: readonly Verification[]): string {
  const mine = vs.filter((v) => v.dataset === ds);
  if (mine.length === 0) return "";
  const lines = ["| tool | restore | rep | result |", "|---|---|--:|---|"];
  for (const v of mine) lines.push(`| ${v.tool} | ${v.which} | ${v.rep} | ${v.ok ? "OK" : "**MISMATCH**"}: ${v.summary.replace(/\|/g, "\\|")} |`);
  return `Restore verification:\n\n${lines.join("\n")}\n`;
}

export function renderReport(r: Report): string {
  const out: string[] = [`# ${r.title}`, "", ...r.header, ""];
  const bad = r.verifications.filter((v) => !v.ok);
  if (bad.length > 0) {
    out.push(`> **RESTORE MISMATCHES: ${bad.length}** — ${bad.map((v) => `${v.dataset}/${v.tool}/${v.which}`).join(", ")}`, "");
  }
  if (r.ceilings.length > 0) {
    out.push("## One-core ceilings (this machine, this run)", "", "| what | MB/s | detail |", "|---|--:|---|");
    for (const c of r.ceilings) out.push(`| ${c.name} | ${c.mbPerS.toFixed(0)} | ${c.detail} |`);
    out.push("");
  }
  if (r.unlock.length > 0) {
    out.push(
      "## Unlock cost (list snapshots of a one-snapshot repository, warm cache)",
      "",
      "| tool | command | wall s (median) | runs | note |",
      "|---|---|--:|---|---|",
    );
    for (const u of r.unlock) out.push(`| ${u.tool} | \`${u.command}\` | ${f(median(u.wallS), 2)} | ${u.wallS.map((w) => w.toFixed(2)).join(", ")} | ${u.note} |`);
    out.push("");
  }
  for (const d of r.datasets) {
    out.push(`## ${d.name}: ${d.description}`, "", d.summary, "");
    if (d.status !== "") out.push(`**${d.status}**`, "");
    out.push(datasetTable(d.name, r.measures, r.toolOrder));
    const sd = suedeDetail(d.name, r.measures);
    if (sd !== "") out.push(sd);
    const vt = verificationTable(d.name, r.verifications);
    if (vt !== "") out.push(vt);
    const fl = r.floors.get(d.name);
    if (fl !== undefined) out.push(fl);
  }
  return `${out.join("\n")}\n`;
}
