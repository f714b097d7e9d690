import type { Command } from "commander";
import { addSecretOptions, loadApi, secretFrom } from "../common.ts";

const KEY_SLOT_WARNING =
  "warning: this file holds the vault's key slots: anyone with it and a passphrase or key file it held can open the vault, " +
  "even after `key passwd` or `key remove` (only `key rekey` revokes it); keep it as safe as the passphrase";

export function registerHeader(program: Command): void {
  const header = program.command("header").description("back up and restore the vault header (key slots), like cryptsetup luksHeaderBackup/Restore");

  addSecretOptions(header.command("backup").argument("<vault>").argument("<file>", "where to write the header backup (must not exist)"))
    .description("copy the vault header (both copies, exact bytes) to FILE, mode 0600, after checking the secret opens it")
    .action(async (vaultPath: string, file: string, options) => {
      const secret = await secretFrom(options);
      const { SuedeVault } = await loadApi();
      const { sizeBytes } = await SuedeVault.backupHeader(vaultPath, file, { secret });
      process.stdout.write(`wrote the header of ${vaultPath} to ${file} (${sizeBytes} bytes)\n`);
      process.stderr.write(`suede: ${KEY_SLOT_WARNING}\n`);
    });

  addSecretOptions(header.command("restore").argument("<vault>").argument("<file>", "a header backup of this vault"))
    .description("write a header backup of THIS vault back into it (both copies); refused unless the secret opens FILE and FILE's key opens the vault")
    .action(async (vaultPath: string, file: string, options) => {
      const secret = await secretFrom(options);
      const { SuedeVault } = await loadApi();
      const { sequence } = await SuedeVault.restoreHeader(vaultPath, file, { secret });
      process.stdout.write(`restored the header of ${vaultPath} from ${file} (header sequence ${sequence})\n`);
    });
}
