import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import { SuedeError } from "../../errors/errors.ts";
import { errorReason } from "../../fs/error-reason.ts";
import type { BackupPreparation } from "../../api/suede-vault.ts";
import { addSecretOptions, cancellation, collect, debugLine, withVault } from "../common.ts";
import { formatBytes, formatDuration, ProgressLine } from "../output.ts";

export function registerBackup(program: Command): void {
  addSecretOptions(program.command("backup").argument("<vault>").argument("<paths...>", "directories or files to back up"))
    .description("make the next snapshot of the given paths")
    .option("--tag <tag>", "tag the snapshot (repeatable)", collect, [])
    .option("--exclude <pattern>", "skip paths matching a gitignore-style pattern (repeatable)", collect, [])
    .option("--exclude-file <file>", "read exclude patterns from a file, one per line", collect, [])
    .option("--one-file-system", "do not cross file system boundaries")
    .option("--dry-run", "read and hash everything, store nothing")
    .option("--json", "print the result as one JSON object")
    .action(async (vaultPath: string, paths: string[], options) => {
      const excludes: string[] = [...options.exclude];
      for (const file of options.excludeFile as string[]) {
        try {
          excludes.push(...(await readFile(file, "utf8")).split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")));
        } catch (cause) {
          throw new SuedeError("USAGE", `cannot read exclude file ${file}`, { cause });
        }
      }
      const progress = (await import("../../backup/backup.ts")).emptyProgress();
      const line = new ProgressLine();
      const { signal, dispose } = cancellation();
      const started = Date.now();
      let prepared: BackupPreparation | undefined;
      const result = await withVault(vaultPath, { ...options, writable: options.dryRun !== true }, async (vault) => {
        line.start(() => {
          const seconds = Math.max(0.001, (Date.now() - started) / 1000);
          return `${progress.files} files, ${formatBytes(progress.bytesRead)} read (${formatBytes(progress.bytesRead / seconds)}/s), ${formatBytes(progress.bytesStored)} new  ${progress.currentPath}`;
        });
        try {
          return await vault.backup({
            paths,
            tags: options.tag,
            excludes,
            oneFileSystem: options.oneFileSystem === true,
            dryRun: options.dryRun === true,
            onError: (path, error) => {
              line.stop();
              process.stderr.write(`suede: warning: skipped ${path}: ${errorReason(error)}\n`);
              return "skip";
            },
            onWarning: (path, message) => process.stderr.write(`suede: warning: ${path}: ${message}\n`),
            signal,
            progress,
            ...(prepared !== undefined ? { prepared } : {}),
          });
        } finally {
          line.stop();
          dispose();
        }
      }, (api) => {
        // The tree is listed while the vault unlocks (the key derivation leaves the main thread idle).
        prepared = api.SuedeVault.prepareBackup({ paths, oneFileSystem: options.oneFileSystem === true });
      }).finally(() => {
        prepared?.stop();
        if (prepared !== undefined) debugLine(`listed ahead during the unlock: ${prepared.directories.listed} directories, ${prepared.directories.used} used by the backup`);
      });
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } else {
        const what = result.id === null ? "dry run:" : `snapshot ${result.id} saved:`;
        process.stdout.write(
          `${what} ${result.files} files (${result.filesNew} new, ${result.filesChanged} changed, ${result.filesUnchanged} unchanged), ` +
            `${result.dirs} directories, ${formatBytes(result.sizeBytes)}; read ${formatBytes(result.bytesRead)}, ` +
            `vault grew by ${formatBytes(result.bytesAdded)} in ${formatDuration(result.durationMs)}\n`,
        );
      }
      if (result.skipped.length > 0) {
        throw new SuedeError("PARTIAL_BACKUP", `${result.skipped.length} path(s) could not be read; their content is not in the snapshot: ${result.skipped.slice(0, 10).join(", ")}${result.skipped.length > 10 ? ", …" : ""}`);
      }
    });
}
