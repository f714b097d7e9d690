/**
 * Which module defines each command, so main.ts loads only the module of the command named on the
 * command line (every module loaded costs start-up: ~40 ms for all of them). --help, --version and
 * anything else load them all, so help still lists every command.
 */
import type { Command } from "commander";

type Register = (program: Command) => void;

export interface CommandModule {
  /** The top-level commands its register function defines. */
  readonly names: readonly string[];
  readonly load: () => Promise<Register>;
}

/** In the order help lists them. */
export const COMMAND_MODULES: readonly CommandModule[] = [
  { names: ["init"], load: async () => (await import("./commands/init.ts")).registerInit },
  { names: ["backup"], load: async () => (await import("./commands/backup.ts")).registerBackup },
  { names: ["snapshots"], load: async () => (await import("./commands/snapshots.ts")).registerSnapshots },
  { names: ["ls"], load: async () => (await import("./commands/ls.ts")).registerLs },
  { names: ["restore"], load: async () => (await import("./commands/restore.ts")).registerRestore },
  { names: ["check"], load: async () => (await import("./commands/check.ts")).registerCheck },
  { names: ["salvage"], load: async () => (await import("./commands/salvage.ts")).registerSalvage },
  { names: ["key"], load: async () => (await import("./commands/key.ts")).registerKey },
  { names: ["header"], load: async () => (await import("./commands/header.ts")).registerHeader },
  { names: ["forget", "pin", "unpin", "prune"], load: async () => (await import("./commands/lifecycle.ts")).registerLifecycle },
  { names: ["info", "cat"], load: async () => (await import("./commands/inspect.ts")).registerInspect },
  { names: ["log", "find"], load: async () => (await import("./commands/inspect.ts")).registerHistory },
  { names: ["diff"], load: async () => (await import("./commands/inspect.ts")).registerDiff },
  { names: ["mount"], load: async () => (await import("./commands/mount.ts")).registerMount },
  { names: ["ui"], load: async () => (await import("./commands/ui.ts")).registerUi },
];

/** The modules to load for this command line: the named command's, or all of them. */
export function commandModulesFor(argv: readonly string[]): readonly CommandModule[] {
  const named = COMMAND_MODULES.find((module) => module.names.includes(argv[2] ?? ""));
  return named !== undefined ? [named] : COMMAND_MODULES;
}
