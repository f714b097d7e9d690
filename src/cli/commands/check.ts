import type { Command } from "commander";
import { SuedeError } from "../../errors/errors.ts";
import { addSecretOptions, cancellation, printJson, withVault } from "../common.ts";
import { formatBytes } from "../output.ts";

export function registerCheck(program: Command): void {
  addSecretOptions(program.command("check").argument("<vault>"))
    .description("verify the vault's structure; with --read-data, decrypt and verify every byte")
    .option("--read-data", "read, decrypt and hash every data blob")
    .option("--json", "print the report as JSON")
    .action(async (vaultPath: string, options) => {
      const { signal, dispose } = cancellation();
      const report = await withVault(vaultPath, options, (vault) => vault.check({ readData: options.readData === true, signal })).finally(dispose);
      if (options.json === true) {
        printJson(report);
      } else {
        for (const problem of report.problems) {
          const where = [problem.snapshot === null ? null : `snapshot ${problem.snapshot}`, problem.path].filter((x) => x !== null).join(": ");
          process.stdout.write(`damaged: ${where === "" ? "" : `${where}: `}${problem.message}\n`);
        }
        process.stdout.write(
          `checked ${report.snapshots} snapshots, ${report.trees} directory records, ${report.blobs} blobs` +
            (report.dataVerified ? `, ${formatBytes(report.bytesVerified)} of data decrypted and verified` : "; data not read (use --read-data)") +
            `: ${report.problems.length === 0 ? "no problems found" : `${report.problems.length} problem(s)`}\n`,
        );
      }
      if (report.problems.length > 0) throw new SuedeError("VAULT_CORRUPT", `the vault is damaged: ${report.problems.length} problem(s) found`);
    });
}
