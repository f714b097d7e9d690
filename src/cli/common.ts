/** Shared CLI plumbing: secret options, opening a vault, cancellation, JSON output. */
import type { Command } from "commander";
import type { Secret, SuedeVault } from "../api/suede-vault.ts";
import { SuedeError, UsageError } from "../errors/errors.ts";
import { config } from "../util/config.ts";
import { markPhase as mark } from "../util/phase.ts";
import { readSecret, type SecretOptions } from "./passphrase.ts";

export function addSecretOptions(command: Command): Command {
  return command
    .option("--passphrase-file <file>", "read the passphrase from a file (first line)")
    .option("--passphrase-command <cmd>", "run a command and use its standard output as the passphrase")
    .option("--key-file <file>", "unlock with a key file instead of a passphrase");
}

export async function secretFrom(options: SecretOptions, confirm = false): Promise<Secret> {
  return readSecret(options, { confirm });
}

/** The library, loaded on first use: `suede --version` and `--help` then skip the native addons and all of src/. */
export function loadApi(): Promise<typeof import("../api/suede-vault.ts")> {
  return import("../api/suede-vault.ts");
}

export async function withVault<T>(
  path: string,
  options: SecretOptions & { writable?: boolean; repair?: boolean; indexLoad?: "full" | "snapshots" },
  use: (vault: SuedeVault) => Promise<T>,
  /** Runs once the secret is read, just before the vault opens (and unlocks). */
  beforeOpen?: (api: typeof import("../api/suede-vault.ts")) => void,
): Promise<T> {
  const secret = await secretFrom(options);
  mark("secret");
  // Argon2id starts on its pool thread now, and the rest of the library loads while it runs.
  const unlocking = (await import("../api/early-unlock.ts")).startUnlock(path, secret);
  const api = await loadApi();
  mark("library");
  const { SuedeVault } = api;
  beforeOpen?.(api);
  const vault = await SuedeVault.open(path, {
    secret,
    unlocking,
    writable: options.writable ?? false,
    repair: options.repair ?? false,
    ...(options.indexLoad !== undefined ? { indexLoad: options.indexLoad } : {}),
  });
  mark("opened");
  for (const warning of vault.warnings) process.stderr.write(`suede: warning: ${warning}\n`);
  try {
    return await use(vault);
  } finally {
    mark("done");
    await vault.close();
    mark("closed");
  }
}

export function parseSnapshotRef(text: string): number | "latest" {
  if (text === "latest") return "latest";
  if (!/^[1-9]\d{0,15}$/.test(text)) throw new UsageError(`snapshot must be a number or "latest", not "${text}"`);
  return Number(text);
}

/** An AbortSignal fired by the first Ctrl-C or SIGTERM; a second Ctrl-C exits at once. */
export function cancellation(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\nsuede: stopping; the vault stays at its last snapshot\n");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** One line on stderr with SUEDE_DEBUG=1 (docs/CLI.md lists them). */
export function debugLine(text: string): void {
  if (config.debug()) process.stderr.write(`suede: debug: ${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function parsePositiveInt(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${what} must be a positive whole number`);
  return Number(text);
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export { SuedeError };
