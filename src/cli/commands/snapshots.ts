import type { Command } from "commander";
import { SuedeError } from "../../errors/errors.ts";
import { addSecretOptions, printJson, withVault } from "../common.ts";
import { formatBytes, formatTime, table } from "../output.ts";

export function registerSnapshots(program: Command): void {
  addSecretOptions(program.command("snapshots").argument("<vault>"))
    .description("list the snapshots in a vault")
    .option("--json", "print a JSON array")
    .action(async (vaultPath: string, options) => {
      // Listing reads only snapshot records: the rest of the index is never loaded.
      const { snapshots, damaged } = await withVault(vaultPath, { ...options, indexLoad: "snapshots" }, (vault) => vault.snapshotListing());
      if (options.json === true) {
        printJson(
          snapshots.map((s) => ({
            id: s.number,
            time: new Date(s.timeMs).toISOString(),
            host: s.host,
            user: s.user,
            paths: s.paths,
            tags: s.tags,
            pinned: s.pinned,
            parent: s.parent,
            files: s.stats.files,
            dirs: s.stats.dirs,
            sizeBytes: s.stats.sizeBytes,
          })),
        );
        reportDamaged(damaged);
        return;
      }
      if (snapshots.length === 0 && damaged.length === 0) {
        process.stdout.write("no snapshots yet\n");
        return;
      }
      const rows = snapshots.map((s) => [
        String(s.number),
        formatTime(s.timeMs),
        s.host,
        s.tags.join(","),
        String(s.stats.files),
        formatBytes(s.stats.sizeBytes),
        s.paths.join(" "),
      ]);
      process.stdout.write(`${table(["ID", "Time", "Host", "Tags", "Files", "Size", "Paths"], rows)}\n`);
      reportDamaged(damaged);
    });
}

/** The readable snapshots are listed; each damaged one gets a line on stderr and the exit is 13. */
function reportDamaged(damaged: readonly { number: number; message: string }[]): void {
  if (damaged.length === 0) return;
  for (const d of damaged) process.stderr.write(`snapshot ${d.number}: damaged: ${d.message}\n`);
  throw new SuedeError("VAULT_CORRUPT", `${damaged.length} snapshot(s) could not be read (run: suede check)`);
}
