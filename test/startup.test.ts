// Goal: start-up stays cheap. `suede --version`/`--help` must not load the library or its native
// addons, and the backup file workers must not load the argon2 addon (they never derive keys).
// Method: follow the static, non-type imports from an entry file and list what it reaches; run the
// built bin the way the kernel runs its shebang line.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { test } from "node:test";

const SRC = resolve(import.meta.dirname, "../src");

/** Source files and packages loaded when `entry` is imported (dynamic import() is not followed; loadNapiAddon is). */
function staticClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s*(import|export)\s+(?!type\s)[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gms)) {
      const spec = m[2] ?? m[3]!;
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith("node:")) packages.add(spec);
    }
    // Native addons loaded through util/native-addon.ts count as that module's packages.
    for (const m of text.matchAll(/loadNapiAddon<[^>]*>\("([^"]+)"\)/g)) packages.add(m[1]!);
  };
  visit(resolve(SRC, entry));
  return { files, packages };
}

test("cli/main.ts loads neither the library nor a native addon before a command runs", () => {
  const { files, packages } = staticClosure("cli/main.ts");
  const library = [...files].map((f) => relative(SRC, f)).filter((f) => /^(api|vault|backup|restore|check|crypto)\//.test(f));
  assert.deepEqual(library, []);
  assert.deepEqual([...packages].sort(), ["commander"]);
});

test("backup/file-worker.ts does not load the argon2 addon", () => {
  const { packages } = staticClosure("backup/file-worker.ts");
  assert.ok(packages.has("zstd-napi/binding.js") && packages.has("@napi-rs/blake-hash"), [...packages].join(", "));
  assert.equal(packages.has("@node-rs/argon2"), false);
});

// A command line naming a command loads that command's module only; help must still list them all.
test("each command module defines exactly the commands the table names, and `suede --help` lists them all", async () => {
  const { Command } = await import("commander");
  const { COMMAND_MODULES, commandModulesFor } = await import("../src/cli/command-table.ts");
  const all = new Command("suede");
  for (const module of COMMAND_MODULES) {
    const alone = new Command("suede");
    const register = await module.load();
    register(alone);
    register(all);
    assert.deepEqual(alone.commands.map((c) => c.name()), module.names);
  }
  const names = COMMAND_MODULES.flatMap((module) => module.names);
  assert.equal(new Set(names).size, names.length, "a command in two modules");
  assert.deepEqual(commandModulesFor(["node", "main.js", "snapshots", "v.vault"]).flatMap((m) => m.names), ["snapshots"]);
  assert.equal(commandModulesFor(["node", "main.js", "--help"]).length, COMMAND_MODULES.length);
  const { CLI } = await import("./helpers/cli.ts");
  const help = spawnSync(process.execPath, [CLI, "--help"], { encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  const listed = [...help.stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]).filter((name) => name !== "help");
  assert.deepEqual(listed, names);
});

// The bin's shebang gives node its options (the main thread's young generation, issue 5): node
// ignores the line when started as `node main.js`, and v8.setFlagsFromString cannot resize a
// running heap, so the shebang is the one place. It must parse and node must accept the options.
test("the built bin's shebang runs node with options node accepts", async () => {
  const { CLI } = await import("./helpers/cli.ts");
  const { suedeNodeArgs, suedeShebangEnv } = await import("../bench/lib/tools.ts");
  const shebang = (file: string) => readFileSync(file, "utf8").split("\n", 1)[0];
  assert.equal(shebang(CLI), shebang(resolve(SRC, "cli/main.ts")), "npm run build keeps the shebang");
  const args = suedeNodeArgs(CLI);
  assert.ok(args.some((arg) => /^--max-semi-space-size=\d+$/.test(arg)), shebang(CLI));
  assert.equal(suedeShebangEnv(CLI).MALLOC_ARENA_MAX, "2", shebang(CLI));
  const version = `${JSON.parse(readFileSync(resolve(SRC, "../package.json"), "utf8")).version}\n`;
  // The kernel passes everything after the interpreter as one argument, then the file, then argv.
  const [interpreter, rest] = shebang(CLI)!.slice(2).split(/ (.*)/s) as [string, string];
  for (const [command, argv] of [[interpreter, [rest, CLI, "--version"]], [process.execPath, [...args, "--version"]]] as const) {
    const run = spawnSync(command, argv, { encoding: "utf8", env: { ...process.env, ...(command === process.execPath ? suedeShebangEnv(CLI) : {}) } });
    assert.equal(run.status, 0, `${command} ${argv.join(" ")}: ${run.stderr}`);
    assert.equal(run.stdout, version);
    assert.equal(run.stderr, "");
  }
});
