/**
 * Comparative benchmark of suede against restic, borg and zpaq (issue 5). One command:
 *
 *   npm run bench -- [--quick] [--reps N] [--only usr,bigfile,srchist,manyfiles] [--tools suede,restic,…]
 *                    [--work DIR] [--timeout SECONDS] [--no-install] [--no-ceilings] [--no-floors] [--no-build]
 *
 * See bench/README.md for what is measured and how.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { type Ceiling, measureCeilings } from "./lib/ceilings.ts";
import { type FloorInputs, renderFloors } from "./lib/floor-targets.ts";
import { type CryptoRates, type DataFloors, measureCryptoRates, measureDataFloors, measureProcessFloors, measureUnlockFloors, type ProcessFloors, type UnlockFloors } from "./lib/floors.ts";
import { vaultBytes, type VaultBytes } from "./lib/padding.ts";
import { DATASET_NAMES, type Dataset, makeDataset } from "./lib/datasets.ts";
import { dropCaches, dropCachesStatus, getLogDir, log, loud, rmrf, setLogDir, sh, timed, type Timing, duBytes } from "./lib/exec.ts";
import { type DatasetInfo, type Measure, median, renderReport, type SuedeBackupJson, type UnlockCost, type Verification } from "./lib/report.ts";
import { ALL_TOOLS, ensureInstalled, PASSPHRASE, pinSuedeBuild, REPO_ROOT, suedeCliPath, suedeNodeArgs, suedeShebangEnv, type Tool, type Which } from "./lib/tools.ts";
import { verifyRestore } from "./lib/verify.ts";

interface Options {
  quick: boolean;
  reps: number;
  only: string[];
  tools: string[];
  work: string;
  timeoutS: number;
  install: boolean;
  ceilings: boolean;
  floors: boolean;
  build: boolean;
}

function usage(): never {
  console.log(
    "usage: npm run bench -- [--quick] [--reps N] [--only DATASET[,DATASET]] [--tools TOOL[,TOOL]] [--work DIR]\n" +
      "                        [--timeout SECONDS] [--no-install] [--no-ceilings] [--no-floors] [--no-build]\n" +
      `data sets: ${DATASET_NAMES.join(", ")}; tools: ${ALL_TOOLS.map((t) => t.name).join(", ")}`,
  );
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    quick: false,
    reps: Number.NaN,
    only: [...DATASET_NAMES],
    tools: ALL_TOOLS.map((t) => t.name),
    work: "/var/tmp/suede-bench",
    timeoutS: Number.NaN,
    install: true,
    ceilings: true,
    floors: true,
    build: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) usage();
      return v;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--reps") o.reps = Number.parseInt(val(), 10);
    else if (a === "--only") o.only = val().split(",").filter((x) => x !== "");
    else if (a === "--tools") o.tools = val().split(",").filter((x) => x !== "");
    else if (a === "--work") o.work = val();
    else if (a === "--timeout") o.timeoutS = Number.parseInt(val(), 10);
    else if (a === "--no-install") o.install = false;
    else if (a === "--no-ceilings") o.ceilings = false;
    else if (a === "--no-floors") o.floors = false;
    else if (a === "--no-build") o.build = false;
    else if (a === "--help" || a === "-h") usage();
    else {
      console.error(`unknown argument ${a}`);
      usage();
    }
  }
  if (!Number.isFinite(o.reps)) o.reps = o.quick ? 1 : 3;
  if (!Number.isFinite(o.timeoutS)) o.timeoutS = o.quick ? 1800 : 7200;
  if (o.reps < 1) usage();
  for (const d of o.only) if (!(DATASET_NAMES as readonly string[]).includes(d)) usage();
  for (const t of o.tools) if (!ALL_TOOLS.some((x) => x.name === t)) usage();
  return o;
}

function rotate<T>(xs: readonly T[], k: number): T[] {
  const n = xs.length;
  return n === 0 ? [] : xs.map((_, i) => xs[(i + k) % n]!);
}

function readSuedeJson(t: Timing): SuedeBackupJson | undefined {
  try {
    const text = readFileSync(t.stdoutFile, "utf8").trim();
    const start = text.lastIndexOf("\n{");
    return JSON.parse(start >= 0 ? text.slice(start + 1) : text) as SuedeBackupJson;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const started = new Date();
  const stampText = started.toISOString().replace(/[:]/g, "").replace(/\..*/, "").replace("T", "-");
  const outDir = join(REPO_ROOT, "bench", "out");
  const runName = `${stampText}${o.quick ? "-quick" : ""}`;
  setLogDir(join(outDir, `run-${runName}`));
  const resultsFile = join(outDir, `results-${runName}.md`);
  mkdirSync(o.work, { recursive: true });

  const load0 = loadavg();
  log(`suede bench ${o.quick ? "(quick)" : "(full)"}: reps ${o.reps}, data sets ${o.only.join(",")}, tools ${o.tools.join(",")}, work ${o.work}`);
  log(`logs: ${getLogDir()}; results: ${resultsFile}`);
  log(`machine: ${cpus().length} cpus (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, load ${load0.map((x) => x.toFixed(2)).join(" ")}`);

  if (o.build) {
    log("building suede (npm run build) …");
    const b = sh("npm", ["run", "build"], { cwd: REPO_ROOT, timeoutS: 600 });
    if (b.code !== 0) log(`npm run build FAILED: ${b.stderr.slice(0, 500)}${b.stdout.slice(-500)}`);
  }
  if (existsSync(join(REPO_ROOT, "dist", "cli", "main.js"))) {
    try {
      log(`suede under test pinned at ${pinSuedeBuild(o.work)}`);
    } catch (e) {
      log(`could not pin dist/ (using the work tree's): ${(e as Error).message}`);
    }
  }

  // 1. Tools.
  const skipped: string[] = [];
  const tools: Tool[] = [];
  for (const t of ALL_TOOLS.filter((x) => o.tools.includes(x.name))) {
    const why = ensureInstalled(t, o.install);
    if (why === null) tools.push(t);
    else {
      skipped.push(`${t.name}: ${why}`);
      log(`SKIPPING ${t.name}: ${why}`);
    }
  }
  const versions = tools.map((t) => `${t.name}: ${t.version()}`);
  for (const v of versions) log(`version ${v}`);

  const measures: Measure[] = [];
  const verifications: Verification[] = [];
  const datasetInfos: DatasetInfo[] = [];
  let ceilings: Ceiling[] = [];
  const unlock: UnlockCost[] = [];
  // Physical floors per data set (bench/lib/floors.ts), shown against the targets in the report.
  let processFloors: ProcessFloors | null = null;
  let cryptoRates: CryptoRates | null = null;
  const dataFloors = new Map<string, DataFloors>();
  const unlockFloors = new Map<string, UnlockFloors>();
  const vaults = new Map<string, VaultBytes>();
  const floorSections = (): Map<string, string> => {
    const out = new Map<string, string>();
    for (const [name, data] of dataFloors) {
      if (processFloors === null || cryptoRates === null) break;
      const f: FloorInputs = { process: processFloors, rates: cryptoRates, data, unlock: unlockFloors.get(name) ?? null, vault: vaults.get(name) ?? null };
      try {
        out.set(name, renderFloors(name, f, measures));
      } catch (e) {
        out.set(name, `floors could not be rendered: ${(e as Error).message}\n`);
      }
    }
    return out;
  };
  const dropOk = dropCaches();
  log(`page cache drop: ${dropOk ? "works" : "NOT permitted; timings are warm-cache"}`);

  const writeReport = (final: boolean): void => {
    const load1 = loadavg();
    const header = [
      `- started ${started.toISOString()}, ${final ? `finished ${new Date().toISOString()}` : `**partial** (written ${new Date().toISOString()})`}`,
      `- mode: ${o.quick ? "quick" : "full"}, reps ${o.reps} (median shown; range in parentheses when reps > 1), timeout per command ${o.timeoutS} s, tool order rotated per step and rep`,
      `- machine: ${cpus().length} cpus (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} free at write); load average at start ${load0
        .map((x) => x.toFixed(2))
        .join(" ")}, now ${load1.map((x) => x.toFixed(2)).join(" ")}${Math.max(load0[0] ?? 0, load1[0] ?? 0) > cpus().length * 0.5 ? " — **machine was loaded by other processes: numbers are noisy**" : ""}`,
      `- page cache dropped before each timed command: ${dropCachesStatus()}`,
      `- timing: /usr/bin/time -f "%e %U %S %M" (wall, user, sys, peak RSS of the largest process); repo size: du -sb of the repository (dir or file) after the step, caches excluded`,
      `- tools: ${versions.join("; ")}`,
      ...tools.map((t) => `  - ${t.name}: ${t.notes}`),
      ...(skipped.length > 0 ? [`- skipped: ${skipped.join("; ")}`] : []),
      `- ratios are peer / suede (above 1.00× means the peer is slower or bigger)`,
      `- logs: ${getLogDir()}`,
    ];
    const md = renderReport({
      title: `suede comparative benchmark ${started.toISOString().slice(0, 10)}${o.quick ? " (quick)" : ""}`,
      header,
      ceilings,
      unlock,
      datasets: datasetInfos,
      measures,
      verifications,
      toolOrder: tools.map((t) => t.name),
      floors: floorSections(),
    });
    writeFileSync(resultsFile, md);
  };

  // Ceilings: sample from the usr reference tree when a previous run built it, else from /usr.
  if (o.ceilings) {
    const refUsr = join(o.work, "ref", o.quick ? "usr-300M" : "usr-2000M");
    try {
      ceilings = measureCeilings(o.work, o.quick, existsSync(refUsr) ? [refUsr] : ["/usr/share", "/usr/lib"]);
    } catch (e) {
      log(`ceilings failed: ${(e as Error).stack ?? e}`);
    }
    writeReport(false);
  }

  // Unlock cost: a one-snapshot repository per tool, listed warm.
  {
    const small = join(o.work, "unlock");
    rmrf(small);
    mkdirSync(join(small, "src"), { recursive: true });
    writeFileSync(join(small, "src", "hello.txt"), "hello\n");
    for (const t of tools) {
      const state = join(small, t.name);
      mkdirSync(state, { recursive: true });
      const env = t.env(state);
      const init = t.init(state);
      let note = "";
      if (init !== null) {
        const it = await timed(init, { label: `unlock-${t.name}-init`, env, timeoutS: 300, dropCaches: false });
        note = `init ${it.wallS.toFixed(2)} s${t.name === "suede" ? " (includes Argon2id calibration)" : ""}`;
      }
      await timed(t.backup(state, [join(small, "src")], 1), { label: `unlock-${t.name}-backup`, env, timeoutS: 300, dropCaches: false });
      const walls: number[] = [];
      for (let i = 0; i < Math.max(3, o.reps); i++) {
        const r = await timed(t.list(state), { label: `unlock-${t.name}-list`, env, timeoutS: 300, dropCaches: false });
        if (r.ok) walls.push(r.wallS);
      }
      const c = t.list(state);
      const nodeArgs = new Set(suedeNodeArgs());
      const shown = c.args.filter((a) => a !== suedeCliPath() && !nodeArgs.has(a)).map((a) => (a === PASSPHRASE ? "PASS" : a.startsWith(state) ? "REPO" : a));
      unlock.push({ tool: t.name, command: `${t.name} ${shown.join(" ")}`, wallS: walls, note });
      log(`unlock ${t.name}: median ${median(walls).toFixed(2)} s ${note}`);
    }
    if (tools.some((t) => t.name === "suede")) {
      // Baseline: starting node and loading the CLI without opening a vault.
      const walls: number[] = [];
      for (let i = 0; i < Math.max(3, o.reps); i++) {
        const r = await timed({ cmd: process.execPath, args: [...suedeNodeArgs(), "--version"] }, { label: "unlock-suede-version", env: { ...process.env, ...suedeShebangEnv() }, timeoutS: 120, dropCaches: false });
        if (r.ok) walls.push(r.wallS);
      }
      unlock.push({ tool: "suede", command: "suede --version", wallS: walls, note: "baseline: node start + CLI load, no vault opened" });
    }
    rmrf(small);
    writeReport(false);
  }

  if (o.floors) {
    try {
      processFloors = await measureProcessFloors();
      cryptoRates = measureCryptoRates();
    } catch (e) {
      log(`floors failed: ${(e as Error).stack ?? e}`);
    }
  }

  // Data sets.
  const cfg = { work: o.work, quick: o.quick };
  const stateRoot = join(o.work, "state");
  const restoreRoot = join(o.work, "restore");
  for (const name of o.only) {
    let ds: Dataset;
    const info: { name: string; description: string; summary: string; status: string } = { name, description: "", summary: "", status: "" };
    datasetInfos.push(info);
    try {
      ds = makeDataset(name, cfg);
      info.description = ds.description;
      log(`=== data set ${name}: ${ds.description}`);
      ds.prepare();
      info.summary = ds.summary();
    } catch (e) {
      info.status = `data set skipped: ${(e as Error).message}`;
      loud(`data set ${name} could not be prepared: ${(e as Error).stack ?? e}`);
      writeReport(false);
      continue;
    }
    try {
      for (let rep = 1; rep <= o.reps; rep++) {
        log(`--- ${name} rep ${rep}/${o.reps}: resetting data`);
        ds.reset();
        const broken = new Set<string>();
        for (const t of tools) {
          const state = join(stateRoot, t.name);
          rmrf(state);
          mkdirSync(state, { recursive: true });
          const init = t.init(state);
          if (init !== null) {
            const r = await timed(init, { label: `${name}-r${rep}-${t.name}-init`, env: t.env(state), timeoutS: 300, dropCaches: false });
            if (!r.ok) broken.add(t.name);
          }
        }
        for (let s = 0; s < ds.steps.length; s++) {
          const step = ds.steps[s]!;
          const t0 = Date.now();
          step.apply();
          log(`${name} rep ${rep} step "${step.name}" (data ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
          if (o.floors && rep === 1 && s === 0 && processFloors !== null) {
            // On the tree of the first backup (srchist checks out its first release in step 1).
            try {
              // Write floors only where the bench restores (they take most of the floors' time).
              const writes = ds.expected("newest") !== null;
              dataFloors.set(name, await measureDataFloors(name, ds.sources, o.work, { coldReps: 3, writes }));
            } catch (e) {
              log(`floors of ${name} failed: ${(e as Error).stack ?? e}`);
            }
          }
          for (const t of rotate(tools, rep - 1 + s)) {
            if (broken.has(t.name)) continue;
            const state = join(stateRoot, t.name);
            const timing = await timed(t.backup(state, ds.sources, s + 1), {
              label: `${name}-r${rep}-s${s + 1}-${t.name}-backup`,
              env: t.env(state),
              timeoutS: o.timeoutS,
              dropCaches: true,
            });
            const repoBytes = duBytes(t.repo(state));
            const m: Measure = {
              dataset: name,
              step: step.name,
              stepIndex: s,
              kind: "backup",
              tool: t.name,
              rep,
              timing,
              repoBytes,
              ...(t.name === "suede" ? { suede: readSuedeJson(timing) ?? {} } : {}),
            };
            measures.push(m);
            log(
              `  ${t.name.padEnd(6)} ${timing.ok ? "ok  " : "FAIL"} wall ${timing.wallS.toFixed(2)} s, cpu ${(timing.userS + timing.sysS).toFixed(2)} s, rss ${(timing.maxRssKiB / 1024).toFixed(0)} MiB, repo ${(repoBytes / 1048576).toFixed(1)} MiB`,
            );
          }
          writeReport(false);
        }
        const suedeTool = tools.find((t) => t.name === "suede");
        if (o.floors && rep === 1 && dataFloors.has(name) && suedeTool !== undefined && !broken.has("suede")) {
          const state = join(stateRoot, "suede");
          try {
            unlockFloors.set(name, await measureUnlockFloors(suedeTool.list(state), suedeTool.env(state)));
            vaults.set(name, await vaultBytes(suedeTool.repo(state), PASSPHRASE));
          } catch (e) {
            log(`suede floors of ${name} failed: ${(e as Error).stack ?? e}`);
          }
          writeReport(false);
        }
        // Restores of the newest and the oldest snapshot, verified.
        for (const [wi, which] of (["newest", "oldest"] as Which[]).entries()) {
          const exp = ds.expected(which);
          if (exp === null) continue;
          for (const t of rotate(tools, rep - 1 + wi)) {
            if (broken.has(t.name)) continue;
            const state = join(stateRoot, t.name);
            const target = join(restoreRoot, t.name);
            rmrf(target);
            mkdirSync(target, { recursive: true });
            let timing: Timing;
            try {
              timing = await timed(t.restore(state, which, target), {
                label: `${name}-r${rep}-restore-${which}-${t.name}`,
                env: t.env(state),
                timeoutS: o.timeoutS,
                dropCaches: true,
              });
            } catch (e) {
              log(`  ${t.name} restore ${which}: could not start: ${(e as Error).message}`);
              continue;
            }
            measures.push({ dataset: name, step: `R restore ${which}`, stepIndex: wi, kind: "restore", tool: t.name, rep, timing, repoBytes: Number.NaN });
            const v = verifyRestore(t, exp, target);
            const ok = v.ok && timing.ok;
            const summary = timing.ok ? v.summary : `restore command failed (exit ${timing.code}${timing.timedOut ? ", timeout" : ""}); ${v.summary}`;
            verifications.push({ dataset: name, tool: t.name, which, rep, ok, summary });
            if (ok) log(`  ${t.name.padEnd(6)} restore ${which}: wall ${timing.wallS.toFixed(2)} s; verified: ${summary}`);
            else loud(`RESTORE MISMATCH ${name} ${t.name} ${which} rep ${rep}: ${summary}`);
            rmrf(target);
          }
          writeReport(false);
        }
      }
    } catch (e) {
      info.status = `data set aborted: ${(e as Error).message}`;
      loud(`data set ${name} aborted: ${(e as Error).stack ?? e}`);
    }
    try {
      ds.cleanup();
      rmrf(stateRoot);
      rmrf(restoreRoot);
    } catch {
      /* best effort */
    }
    writeReport(false);
  }

  writeReport(true);
  const md = readFileSync(resultsFile, "utf8");
  console.log(`\n${md}`);
  log(`results written to ${resultsFile}`);
  const bad = verifications.filter((v) => !v.ok);
  if (bad.length > 0) {
    loud(`${bad.length} RESTORE MISMATCH(ES): ${bad.map((v) => `${v.dataset}/${v.tool}/${v.which}/rep${v.rep}`).join(", ")}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  loud(`bench crashed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
