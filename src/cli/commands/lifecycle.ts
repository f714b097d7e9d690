import type { Command } from "commander";
import { UsageError } from "../../errors/errors.ts";
import { type RetentionPolicy, parseDuration } from "../../snapshot/retention.ts";
import { addSecretOptions, cancellation, collect, parseSnapshotRef, printJson, withVault } from "../common.ts";
import { formatBytes } from "../output.ts";

function count(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text) || Number(text) < -1) throw new UsageError(`${option} takes a whole number (-1 for unlimited)`);
  return Number(text);
}

function policyFrom(options: Record<string, unknown>): RetentionPolicy {
  const policy: { -readonly [K in keyof RetentionPolicy]: RetentionPolicy[K] } = {};
  const counts = [["last", "keepLast"], ["hourly", "keepHourly"], ["daily", "keepDaily"], ["weekly", "keepWeekly"], ["monthly", "keepMonthly"], ["yearly", "keepYearly"]] as const;
  for (const [field, option] of counts) {
    const value = count(options[option] as string | undefined, `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    if (value !== undefined) policy[field] = value;
  }
  if (typeof options.keepWithin === "string") {
    try {
      policy.within = parseDuration(options.keepWithin);
    } catch (error) {
      throw new UsageError(`--keep-within: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const tags = options.keepTag as string[] | undefined;
  if (tags !== undefined && tags.length > 0) policy.tags = tags;
  return policy;
}

function snapshotNumbers(texts: readonly string[]): number[] {
  return texts.map((text) => {
    const ref = parseSnapshotRef(text);
    if (ref === "latest") throw new UsageError("forget takes snapshot numbers, not latest");
    return ref;
  });
}

export function registerLifecycle(program: Command): void {
  addSecretOptions(program.command("forget").argument("<vault>").argument("[snapshots...]", "snapshot numbers to forget"))
    .description("remove snapshots by number or by a retention policy (restic's rules); their data is dropped by prune")
    .option("--keep-last <n>", "keep the n newest snapshots")
    .option("--keep-hourly <n>", "keep the newest snapshot of each of the last n hours that have one")
    .option("--keep-daily <n>", "… of each of the last n days")
    .option("--keep-weekly <n>", "… of each of the last n ISO weeks")
    .option("--keep-monthly <n>", "… of each of the last n months")
    .option("--keep-yearly <n>", "… of each of the last n years")
    .option("--keep-within <duration>", "keep snapshots within this duration of the newest (e.g. 1y2m3d4h)")
    .option("--keep-tag <tags>", "keep snapshots that have all of these comma-separated tags (repeatable)", collect, [])
    .option("--host <host>", "apply the policy only to snapshots of this host")
    .option("--prune", "prune right after forgetting")
    .option("--dry-run", "only show what would be forgotten")
    .option("--json", "print the result as JSON")
    .action(async (vaultPath: string, snapshotTexts: string[], options) => {
      const numbers = snapshotNumbers(snapshotTexts);
      const policy = policyFrom(options);
      if (numbers.length > 0 && Object.keys(policy).length > 0) throw new UsageError("give snapshot numbers or a policy, not both");
      const { signal, dispose } = cancellation();
      const result = await withVault(vaultPath, { ...options, writable: options.dryRun !== true }, async (vault) => {
        let decisions: { number: number; keep: boolean; reasons: readonly string[] }[] = [];
        let victims = numbers;
        if (numbers.length === 0) {
          const planned = await vault.planRetention(policy, options.host !== undefined ? { host: options.host } : {});
          decisions = planned.map((d) => ({ number: d.snapshot.number, keep: d.keep, reasons: d.reasons }));
          victims = decisions.filter((d) => !d.keep).map((d) => d.number);
        } else {
          for (const n of numbers) await vault.getSnapshot(n);
        }
        if (options.dryRun === true) return { forgotten: [], wouldForget: victims, decisions, prune: null };
        const forgotten = await vault.forget(victims);
        const prune = options.prune === true ? await vault.prune({ signal }) : null;
        return { forgotten, wouldForget: victims, decisions, prune };
      }).finally(dispose);
      if (options.json === true) return printJson(result);
      for (const d of result.decisions) {
        process.stdout.write(`${String(d.number).padStart(5)}  ${d.keep ? "keep  " : "forget"}  ${d.reasons.join(", ")}\n`);
      }
      const list = (options.dryRun === true ? result.wouldForget : result.forgotten).join(", ") || "none";
      process.stdout.write(`${options.dryRun === true ? "would forget" : "forgot"} snapshot(s): ${list}\n`);
      if (result.prune !== null) {
        process.stdout.write(`pruned: vault ${formatBytes(result.prune.sizeBefore)} → ${formatBytes(result.prune.sizeAfter ?? result.prune.sizeBefore)}\n`);
      }
    });

  for (const [name, pinned] of [["pin", true], ["unpin", false]] as const) {
    addSecretOptions(program.command(name).argument("<vault>").argument("<snapshot>"))
      .description(pinned ? "make a snapshot permanent: forget never removes it" : "make a pinned snapshot forgettable again")
      .action(async (vaultPath: string, snapshotText: string, options) => {
        const ref = parseSnapshotRef(snapshotText);
        const snapshot = await withVault(vaultPath, { ...options, writable: true }, (vault) => vault.setPinned(ref, pinned));
        process.stdout.write(`snapshot ${snapshot.number} is ${pinned ? "pinned" : "not pinned"}\n`);
      });
  }

  addSecretOptions(program.command("prune").argument("<vault>"))
    .description("drop data no snapshot references and shrink the vault file")
    .option("--dry-run", "only report how much could be freed")
    .option("--json", "print the result as JSON")
    .action(async (vaultPath: string, options) => {
      const { signal, dispose } = cancellation();
      const result = await withVault(vaultPath, { ...options, writable: options.dryRun !== true }, (vault) =>
        vault.prune({ dryRun: options.dryRun === true, signal }),
      ).finally(dispose);
      if (options.json === true) return printJson(result);
      if (result.sizeAfter === null) {
        process.stdout.write(`${formatBytes(result.garbageBytes)} of ${formatBytes(result.sizeBefore)} is unreferenced and would be freed\n`);
      } else {
        process.stdout.write(`vault ${formatBytes(result.sizeBefore)} → ${formatBytes(result.sizeAfter)} (${result.recordsMoved} records moved)\n`);
      }
    });
}

