/**
 * Where the secret comes from, in order: --key-file, --passphrase-file, SUEDE_PASSPHRASE,
 * --passphrase-command, a no-echo prompt on the terminal. Never from a command-line value.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { Secret } from "../api/suede-vault.ts";
import { SuedeError } from "../errors/errors.ts";
import { config } from "../util/config.ts";

export interface SecretOptions {
  readonly keyFile?: string;
  readonly passphraseFile?: string;
  readonly passphraseCommand?: string;
}

function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, "");
}

export async function readSecret(options: SecretOptions, purpose: { confirm: boolean }): Promise<Secret> {
  if (options.keyFile !== undefined) {
    try {
      return { keyFile: new Uint8Array(await readFile(options.keyFile)) };
    } catch (cause) {
      throw new SuedeError("USAGE", `cannot read key file ${options.keyFile}`, { cause });
    }
  }
  if (options.passphraseFile !== undefined) {
    try {
      return { passphrase: stripNewline(await readFile(options.passphraseFile, "utf8")) };
    } catch (cause) {
      throw new SuedeError("USAGE", `cannot read passphrase file ${options.passphraseFile}`, { cause });
    }
  }
  const fromEnvironment = config.passphrase();
  if (fromEnvironment !== undefined) return { passphrase: fromEnvironment };
  if (options.passphraseCommand !== undefined) {
    try {
      const { stdout } = await promisify(execFile)("/bin/sh", ["-c", options.passphraseCommand], { maxBuffer: 1024 * 1024 });
      return { passphrase: stripNewline(stdout) };
    } catch (cause) {
      throw new SuedeError("USAGE", "the passphrase command failed", { cause });
    }
  }
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new SuedeError(
      "NO_PASSPHRASE",
      "no passphrase: not on a terminal, and none of --passphrase-file, SUEDE_PASSPHRASE, --passphrase-command or --key-file was given",
    );
  }
  const passphrase = await prompt("Passphrase: ");
  if (purpose.confirm) {
    if (passphrase.length === 0) throw new SuedeError("USAGE", "an empty passphrase is not allowed");
    if ((await prompt("Repeat passphrase: ")) !== passphrase) throw new SuedeError("USAGE", "the passphrases do not match");
  }
  return { passphrase };
}

/** Reads a line from the terminal without echo (raw mode); Ctrl-C cancels. */
export function prompt(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    process.stderr.write(question);
    input.setRawMode(true);
    input.resume();
    let text = "";
    const finish = (error: SuedeError | null) => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      process.stderr.write("\n");
      if (error !== null) reject(error);
      else resolve(text);
    };
    const onData = (data: Buffer) => {
      for (const char of data.toString("utf8")) {
        if (char === "\r" || char === "\n") return finish(null);
        if (char === "\u0003") return finish(new SuedeError("CANCELLED", "cancelled"));
        if (char === "\u007f" || char === "\b") text = [...text].slice(0, -1).join("");
        else text += char;
      }
    };
    input.on("data", onData);
  });
}
