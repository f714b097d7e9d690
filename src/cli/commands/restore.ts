import { statSync } from "node:fs";
import type { Command } from "commander";
import { SuedeError, UsageError } from "../../errors/errors.ts";
import { addSecretOptions, cancellation, collect, debugLine, parseSnapshotRef, withVault } from "../common.ts";
import { formatBytes, ProgressLine } from "../output.ts";
import type { RestorePreparation } from "../../api/suede-vault.ts";

export function registerRestore(program: Command): void {
  addSecretOptions(program.command("restore").argument("<vault>").argument("<snapshot>", "snapshot number or latest"))
    .description("recreate a snapshot's files under a target directory, by their absolute paths")
    .option("--target <dir>", "directory to restore into (created if missing, must be empty)")
    .option("--include <path>", "restore only this absolute path from the snapshot (repeatable)", collect, [])
    .option("--overwrite", "restore into a non-empty directory, replacing what is in the way")
    .option("--json", "print the result as JSON")
    .action(async (vaultPath: string, snapshotText: string, options) => {
      if (options.target === undefined) throw new UsageError("restore needs --target DIR");
      const ref = parseSnapshotRef(snapshotText);
      const progress = (await import("../../restore/restore.ts")).emptyRestoreProgress();
      const line = new ProgressLine();
      const { signal, dispose } = cancellation();
      let prepared: RestorePreparation | undefined;
      const result = await withVault(
        vaultPath,
        options,
        async (vault) => {
          line.start(() => `${progress.files} files, ${formatBytes(progress.bytesWritten)} written  ${progress.currentPath}`);
          try {
            const restoreOptions = { target: options.target, include: options.include, overwrite: options.overwrite === true, signal, progress };
            return await vault.restore(ref, prepared === undefined ? restoreOptions : { ...restoreOptions, prepared });
          } finally {
            line.stop();
            dispose();
          }
        },
        // The first record-opening worker starts now and loads while Argon2id runs.
        (api) => (prepared = api.SuedeVault.prepareRestore({ vaultBytes: fileBytes(vaultPath), include: options.include })),
      ).finally(() => {
        prepared?.stop();
        if (prepared?.startedAhead === true) debugLine(`open worker started during the unlock: ${prepared.usedAhead ? "used by the restore" : "unused"}`);
      });
      // Target errors already name the path ("cannot write /x: …"): print it once.
      for (const failure of result.failed) {
        process.stderr.write(`suede: error: ${failure.message.includes(failure.path) ? failure.message : `${failure.path}: ${failure.message}`}\n`);
      }
      if (options.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stdout.write(`restored ${result.files} files and ${result.dirs} directories, ${formatBytes(result.bytesWritten)}\n`);
      if (result.failed.length > 0) {
        throw new SuedeError("RESTORE_INCOMPLETE", `${result.failed.length} entr${result.failed.length === 1 ? "y was" : "ies were"} not restored (listed above)`);
      }
    });
}

/** The vault file's size, or 0 when it cannot be read (the open then reports why). */
function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
