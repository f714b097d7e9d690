#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --interrupt-budget=270336
/** The suede command: parses arguments, runs one command, maps errors to exit codes (the only process.exit). */
// The shebang's node option (only one can size a heap: v8.setFlagsFromString is too late) caps the
// main thread's semi-spaces at 2 MiB instead of 16: peak RSS of a no-change re-run 192 -> 179 MiB,
// of a restore 177 -> 162 MiB, no CPU cost measured (1 MiB saved 10 MiB more on restore for 13%
// more CPU there). MALLOC_ARENA_MAX=2 stops glibc giving threads that allocate (workers, the libuv
// pool) arenas of their own (up to 8 per core) that keep freed memory: 10-20 MiB less again. Both are read at
// process start, hence the shebang (docs/PERFORMANCE.md, "Memory and start-up breakdown").
// --interrupt-budget at 4x node 20's default makes V8 wait for 4x the bytecode run before it asks
// TurboFan to optimize a function, in every isolate: lukewarm code stays in the baseline tiers, and a
// run compiles about half as many functions (first backup of usr 301 -> 172). The platform threads
// that compile spent 0.25-0.4 CPU-s less on a usr first backup, no-change re-run and restore; the
// re-run 6-10% less CPU in all, while a first backup's workers spend about what was saved in
// slower code (docs/PERFORMANCE.md, "V8 overhead: compiles, deopts, GC").
import { Command, CommanderError } from "commander";
import { SuedeError } from "../errors/errors.ts";
import { EXIT_CODES } from "../errors/exit-codes.ts";
import { config } from "../util/config.ts";
import { startPoolNudge } from "../fs/pool-nudge.ts";
import { commandModulesFor } from "./command-table.ts";

async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command("suede")
    .description("snapshot backups into one encrypted, deduplicated vault file")
    .version("0.1.0")
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const registers = await Promise.all(commandModulesFor(argv).map((module) => module.load()));
  for (const register of registers) register(program);
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv as string[]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.exitCode === 0) return 0;
      return EXIT_CODES.USAGE;
    }
    if (error instanceof SuedeError) {
      process.stderr.write(`suede: ${error.message}\n`);
      if (config.debug() && error.cause !== undefined) process.stderr.write(`${String((error.cause as Error).stack ?? error.cause)}\n`);
      return EXIT_CODES[error.code];
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`suede: internal error (a bug, please report it): ${message}\n`);
    if (config.debug() && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

// libuv's pool keeps its default 4 threads: it starts while node loads this ESM entry (before any line
// here runs), and 8 or 16 threads cost more CPU per cold read here (docs/PERFORMANCE.md, "Cold first backups").
startPoolNudge();
const stopMemoryReport = config.debug() ? (await import("./memory-report.ts")).startMemoryReport() : null;
process.exitCode = await main(process.argv);
stopMemoryReport?.();
// Worker threads and handles are closed by the commands; exit explicitly so a stray handle cannot hang.
process.exit(process.exitCode);
