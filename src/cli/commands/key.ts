import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import type { Secret } from "../../api/suede-vault.ts";
import type { KdfParams } from "../../crypto/kdf.ts";
import { SuedeError, UsageError } from "../../errors/errors.ts";
import { config } from "../../util/config.ts";
import { addSecretOptions, cancellation, loadApi, parsePositiveInt, printJson, secretFrom, withVault } from "../common.ts";
import { ProgressLine, formatBytes, formatTime, table } from "../output.ts";
import { prompt } from "../passphrase.ts";

const REVOCATION_NOTE =
  "note: copies of the vault file made before this change still open with the removed secret; only a re-key (new master key) revokes it";

interface NewSecretOptions {
  readonly newPassphraseFile?: string;
  readonly newKeyFile?: string;
  readonly kdfMemory?: string;
  readonly kdfIterations?: string;
  readonly kdfParallelism?: string;
}

async function newSecret(options: NewSecretOptions): Promise<Secret> {
  const secret = await newSecretFromSource(options);
  if ("passphrase" in secret && secret.passphrase.length === 0) throw new UsageError("an empty passphrase is not allowed");
  return secret;
}

/** The new secret when one was given by file or environment; null when none was (no prompt). */
async function givenNewSecret(options: NewSecretOptions): Promise<Secret | null> {
  if (options.newKeyFile === undefined && options.newPassphraseFile === undefined && config.newPassphrase() === undefined) return null;
  return newSecret(options);
}

async function newSecretFromSource(options: NewSecretOptions): Promise<Secret> {
  if (options.newKeyFile !== undefined) return { keyFile: new Uint8Array(await readFile(options.newKeyFile)) };
  if (options.newPassphraseFile !== undefined) return { passphrase: (await readFile(options.newPassphraseFile, "utf8")).replace(/\r?\n$/, "") };
  const fromEnvironment = config.newPassphrase();
  if (fromEnvironment !== undefined) return { passphrase: fromEnvironment };
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new SuedeError("NO_PASSPHRASE", "no new passphrase: use --new-passphrase-file, --new-key-file or SUEDE_NEW_PASSPHRASE");
  }
  const passphrase = await prompt("New passphrase: ");
  if (passphrase.length === 0) throw new UsageError("an empty passphrase is not allowed");
  if ((await prompt("Repeat new passphrase: ")) !== passphrase) throw new UsageError("the passphrases do not match");
  return { passphrase };
}

async function kdfOption(options: NewSecretOptions): Promise<{ kdf?: KdfParams }> {
  if (options.kdfMemory === undefined && options.kdfIterations === undefined) return {};
  const kdf: KdfParams = {
    memoryKiB: parsePositiveInt(options.kdfMemory ?? "64", "--kdf-memory") * 1024,
    iterations: parsePositiveInt(options.kdfIterations ?? "3", "--kdf-iterations"),
    parallelism: parsePositiveInt(options.kdfParallelism ?? "4", "--kdf-parallelism"),
  };
  const { isBelowFloor, kdfParamsProblem } = await import("../../crypto/kdf.ts");
  const problem = kdfParamsProblem(kdf);
  if (problem !== null) throw new UsageError(problem);
  if (isBelowFloor(kdf)) process.stderr.write("suede: warning: KDF below the recommended floor (Argon2id t=3, m=64 MiB, p=4); use only for tests\n");
  return { kdf };
}

function withNewSecretOptions(command: Command): Command {
  return addSecretOptions(command)
    .option("--new-passphrase-file <file>", "read the new passphrase from a file")
    .option("--new-key-file <file>", "use the bytes of a file as the new key")
    .option("--kdf-memory <MiB>", "Argon2id memory for the new slot (default: calibrated)")
    .option("--kdf-iterations <n>", "Argon2id passes for the new slot (default: calibrated)")
    .option("--kdf-parallelism <n>", "Argon2id lanes for the new slot", "4");
}

export function registerKey(program: Command): void {
  const key = program.command("key").description("manage the passphrases and key files that open a vault (LUKS-like slots)");

  addSecretOptions(key.command("list").argument("<vault>"))
    .description("list key slots (never secrets)")
    .option("--json", "print JSON")
    .action(async (vaultPath: string, options) => {
      const slots = await withVault(vaultPath, options, async (vault) => vault.listKeys());
      if (options.json === true) return printJson(slots);
      const rows = slots.map((s) => [
        String(s.index),
        s.kind,
        `argon2id t=${s.kdf.iterations} m=${s.kdf.memoryKiB / 1024}MiB p=${s.kdf.parallelism}${s.belowFloor ? " (below the recommended floor: tests only)" : ""}`,
        (s.createdMs === null ? "unknown" : formatTime(s.createdMs)),
        s.unlocked ? "yes" : "",
      ]);
      process.stdout.write(`${table(["Slot", "Kind", "KDF", "Created", "Unlocked now"], rows)}\n`);
    });

  withNewSecretOptions(key.command("add").argument("<vault>"))
    .description("add another passphrase or key file")
    .action(async (vaultPath: string, options) => {
      const secret = await newSecret(options);
      const slot = await withVault(vaultPath, { ...options, writable: true }, async (vault) => vault.addKey(secret, await kdfOption(options)));
      process.stdout.write(`added key slot ${slot}\n`);
    });

  withNewSecretOptions(key.command("passwd").argument("<vault>"))
    .description("replace the passphrase (or key file) that unlocked the vault")
    .action(async (vaultPath: string, options) => {
      const secret = await newSecret(options);
      const slot = await withVault(vaultPath, { ...options, writable: true }, async (vault) => vault.changeKey(secret, await kdfOption(options)));
      process.stdout.write(`changed key slot ${slot}\n${REVOCATION_NOTE}\n`);
    });

  addSecretOptions(key.command("remove").argument("<vault>").argument("[slot]", "slot number (default: the slot that unlocks with the given secret)"))
    .description("remove a key slot; the last one is never removed")
    .action(async (vaultPath: string, slotText: string | undefined, options) => {
      const index = slotText === undefined ? undefined : /^\d+$/.test(slotText) ? Number(slotText) : undefined;
      if (slotText !== undefined && index === undefined) throw new UsageError(`slot must be a number, not "${slotText}"`);
      const slot = await withVault(vaultPath, { ...options, writable: true }, (vault) => vault.removeKey(index));
      process.stdout.write(`removed key slot ${slot}\n${REVOCATION_NOTE}\n`);
    });

  withNewSecretOptions(key.command("rekey").argument("<vault>"))
    .description("new master key: re-encrypt every record (resumable) and drop every other key slot — real revocation")
    .option("--json", "print the result as JSON")
    .action(async (vaultPath: string, options) => {
      const current = await secretFrom(options);
      const secret = (await givenNewSecret(options)) ?? current;
      const { signal, dispose } = cancellation();
      const progress = new ProgressLine();
      let copied = 0;
      let total = 0;
      try {
        const { SuedeVault } = await loadApi();
        const vault = await SuedeVault.open(vaultPath, { secret: current, writable: true });
        for (const warning of vault.warnings) process.stderr.write(`suede: warning: ${warning}\n`);
        progress.start(() => `re-encrypting ${formatBytes(copied)} of ${formatBytes(total)}`);
        const result = await vault.rekey(secret, {
          ...(await kdfOption(options)),
          signal,
          onProgress: (copiedBytes, totalBytes) => {
            copied = copiedBytes;
            total = totalBytes;
          },
        });
        progress.stop();
        if (options.json === true) return printJson(result);
        process.stdout.write(
          `re-keyed ${vaultPath}${result.resumed ? " (resumed)" : ""}: ${result.recordsCopied} records re-encrypted, ` +
            `${formatBytes(result.bytesBefore)} → ${formatBytes(result.bytesAfter)}; one key slot (0) remains\n` +
            "note: copies of the vault file made before the re-key still open with the old keys\n",
        );
      } finally {
        progress.stop();
        dispose();
      }
    });
}
