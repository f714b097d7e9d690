import type { Command } from "commander";
import type { CheckReport } from "../../check/check.ts";
import { SuedeError, UsageError } from "../../errors/errors.ts";
import { addSecretOptions, cancellation, printJson, withVault } from "../common.ts";
import { formatBytes } from "../output.ts";

export function registerCheck(program: Command): void {
  addSecretOptions(program.command("check").argument("<vault>"))
    .description("verify the vault's structure; with --read-data, decrypt and verify every byte; with --repair, rebuild what the log still holds")
    .option("--read-data", "read, decrypt and hash every data blob")
    .option("--repair", "rewrite a damaged index, lost commit, superblock slot or header copy from the records and the good copy")
    .option("--forget-damaged", "with --repair: forget snapshots whose record or root directory cannot be read")
    .option("--json", "print the report as JSON")
    .action(async (vaultPath: string, options) => {
      if (options.forgetDamaged === true && options.repair !== true) throw new UsageError("--forget-damaged needs --repair");
      const { signal, dispose } = cancellation();
      const repairing = options.repair === true;
      const { report, repair } = await withVault(vaultPath, { ...options, writable: repairing, repair: repairing }, async (vault) => {
        const repair = repairing ? await vault.repair({ forgetDamaged: options.forgetDamaged === true }) : null;
        const report = await vault.check({ readData: options.readData === true, signal });
        return { report, repair };
      }).finally(dispose);
      if (options.json === true) {
        printJson(repair === null ? report : { ...report, repair });
      } else {
        for (const action of repair?.actions ?? []) process.stdout.write(`repaired: ${action}\n`);
        for (const left of repair?.remaining ?? []) process.stdout.write(`not repaired: ${left}\n`);
        printReport(report, repairing);
      }
      if (report.problems.length > 0) {
        const hint = !repairing && report.repairable.length > 0 ? " (suede check --repair can fix part of it)" : "";
        throw new SuedeError("VAULT_CORRUPT", `the vault is damaged: ${report.problems.length} problem(s) found${hint}`);
      }
    });
}

function printReport(report: CheckReport, repaired: boolean): void {
  for (const problem of report.problems) {
    const where = [problem.snapshot === null ? null : `snapshot ${problem.snapshot}`, problem.path].filter((x) => x !== null).join(": ");
    process.stdout.write(`damaged: ${where === "" ? "" : `${where}: `}${problem.message}\n`);
  }
  if (!repaired) for (const fix of report.repairable) process.stdout.write(`repairable: ${fix} (run suede check --repair)\n`);
  process.stdout.write(
    `checked ${report.snapshots} snapshots, ${report.trees} directory records, ${report.blobs} blobs` +
      (report.dataVerified ? `, ${formatBytes(report.bytesVerified)} of data decrypted and verified` : "; data not read (use --read-data)") +
      `: ${report.problems.length === 0 ? "no problems found" : `${report.problems.length} problem(s)`}\n`,
  );
}
