import type { Command } from "commander";
import { UsageError } from "../../errors/errors.ts";
import { addSecretOptions, cancellation, parseSnapshotRef, printJson, withVault } from "../common.ts";
import { formatBytes } from "../output.ts";

function snapshotNumbers(texts: readonly string[]): number[] {
  return texts.map((text) => {
    const ref = parseSnapshotRef(text);
    if (ref === "latest") throw new UsageError("forget takes snapshot numbers, not latest");
    return ref;
  });
}

export function registerLifecycle(program: Command): void {
  addSecretOptions(program.command("forget").argument("<vault>").argument("[snapshots...]", "snapshot numbers to forget"))
    .description("remove snapshots from the vault (their data is dropped by prune)")
    .option("--prune", "prune right after forgetting")
    .option("--dry-run", "only show what would be forgotten")
    .option("--json", "print the result as JSON")
    .action(async (vaultPath: string, snapshotTexts: string[], options) => {
      const numbers = snapshotNumbers(snapshotTexts);
      if (numbers.length === 0) throw new UsageError("name the snapshots to forget (forgetting by policy is not available yet)");
      const { signal, dispose } = cancellation();
      const result = await withVault(vaultPath, { ...options, writable: options.dryRun !== true }, async (vault) => {
        if (options.dryRun === true) {
          for (const n of numbers) await vault.getSnapshot(n);
          return { forgotten: numbers, prune: null };
        }
        const forgotten = await vault.forget(numbers);
        const prune = options.prune === true ? await vault.prune({ signal }) : null;
        return { forgotten, prune };
      }).finally(dispose);
      if (options.json === true) return printJson(result);
      process.stdout.write(`${options.dryRun === true ? "would forget" : "forgot"} snapshot(s) ${result.forgotten.join(", ")}\n`);
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

