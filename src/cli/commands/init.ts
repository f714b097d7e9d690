import type { Command } from "commander";
import type { KdfParams } from "../../crypto/kdf.ts";
import { UsageError } from "../../errors/errors.ts";
import { addSecretOptions, loadApi, parsePositiveInt, secretFrom } from "../common.ts";

export function registerInit(program: Command): void {
  addSecretOptions(program.command("init").argument("<vault>", "vault file to create"))
    .description("create a new, empty vault file")
    .option("--kdf-memory <MiB>", "Argon2id memory in MiB (default: calibrated, at least 64)")
    .option("--kdf-iterations <n>", "Argon2id passes (default: calibrated, at least 3)")
    .option("--kdf-parallelism <n>", "Argon2id lanes", "4")
    .option("--json", "print the result as JSON")
    .action(async (vaultPath: string, options) => {
      const { KDF_FLOOR, calibrateKdf, isBelowFloor, kdfParamsProblem } = await import("../../crypto/kdf.ts");
      const { SuedeVault } = await loadApi();
      const custom = options.kdfMemory !== undefined || options.kdfIterations !== undefined;
      let kdf: KdfParams = await calibrateKdf(500);
      if (custom) {
        kdf = {
          memoryKiB: options.kdfMemory !== undefined ? parsePositiveInt(options.kdfMemory, "--kdf-memory") * 1024 : kdf.memoryKiB,
          iterations: options.kdfIterations !== undefined ? parsePositiveInt(options.kdfIterations, "--kdf-iterations") : kdf.iterations,
          parallelism: parsePositiveInt(options.kdfParallelism, "--kdf-parallelism"),
        };
        const problem = kdfParamsProblem(kdf);
        if (problem !== null) throw new UsageError(problem);
      }
      const secret = await secretFrom(options, true);
      if ("passphrase" in secret && secret.passphrase.length === 0) throw new UsageError("an empty passphrase is not allowed");
      if ("keyFile" in secret && secret.keyFile.byteLength === 0) throw new UsageError("the key file is empty");
      await SuedeVault.create(vaultPath, { secret, kdf });
      const weak = isBelowFloor(kdf);
      if (weak) {
        process.stderr.write(
          `suede: warning: KDF below the recommended floor (Argon2id t=${KDF_FLOOR.iterations}, m=${KDF_FLOOR.memoryKiB / 1024} MiB, p=${KDF_FLOOR.parallelism}); use only for tests\n`,
        );
      }
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify({ vault: vaultPath, kdf: { algorithm: "argon2id", ...kdf }, belowFloor: weak })}\n`);
      } else {
        process.stdout.write(`created vault ${vaultPath} (Argon2id t=${kdf.iterations}, m=${kdf.memoryKiB / 1024} MiB, p=${kdf.parallelism})\n`);
      }
    });
}
