import type { Command } from "commander";
import { SuedeError, UsageError } from "../../errors/errors.ts";
import { addSecretOptions, cancellation, loadApi, printJson, secretFrom } from "../common.ts";
import { formatBytes, formatTime } from "../output.ts";

export function registerSalvage(program: Command): void {
  addSecretOptions(program.command("salvage").argument("<vault>"))
    .description("recover every readable file from a vault that will not open (needs one intact header copy, or --header FILE); never writes the vault")
    .option("--target <dir>", "directory to write into (created if missing, must be empty); each snapshot goes to snapshot-N/")
    .option("--snapshot <n>", "only this snapshot, straight into the target directory")
    .option("--header <file>", "unlock with this header backup (`header backup`) instead of the vault's own header copies")
    .option("--json", "print the report as JSON")
    .action(async (vaultPath: string, options) => {
      if (options.target === undefined) throw new UsageError("salvage needs --target DIR");
      let snapshot: number | undefined;
      if (options.snapshot !== undefined) {
        snapshot = Number(options.snapshot);
        if (!Number.isSafeInteger(snapshot) || snapshot < 0) throw new UsageError(`--snapshot takes a snapshot number, not ${options.snapshot}`);
      }
      const secret = await secretFrom(options);
      const { signal, dispose } = cancellation();
      const { SuedeVault } = await loadApi();
      const report = await SuedeVault.salvage(vaultPath, {
        secret,
        target: options.target,
        signal,
        ...(options.header !== undefined ? { headerBackup: options.header } : {}),
        ...(snapshot !== undefined ? { snapshot } : {}),
      }).finally(dispose);
      const lost = report.snapshots.reduce((sum, s) => sum + s.lost.length, 0);
      if (options.json === true) {
        printJson(report);
      } else {
        const r = report.scan.records;
        process.stdout.write(
          `scanned the log: ${r.data} data, ${r.tree} directory and ${r.snapshot} snapshot records readable; ` +
            `${formatBytes(report.scan.unreadableBytes)} unreadable${report.unreadableSnapshotRecords > 0 ? `; ${report.unreadableSnapshotRecords} snapshot record(s) undecodable` : ""}\n`,
        );
        for (const s of report.snapshots) {
          process.stdout.write(`snapshot ${s.number} (${formatTime(s.timeMs)}): ${s.files} files, ${s.dirs} dirs, ${formatBytes(s.bytesWritten)} -> ${s.target}\n`);
          for (const entry of s.lost) process.stdout.write(`  lost: ${entry.path}: ${entry.message}\n`);
        }
      }
      if (lost > 0) throw new SuedeError("RESTORE_INCOMPLETE", `${lost} entr${lost === 1 ? "y" : "ies"} could not be salvaged (listed above)`);
    });
}
