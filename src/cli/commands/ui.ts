import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { SuedeError, UsageError } from "../../errors/errors.ts";
import { addSecretOptions, withVault } from "../common.ts";

/** The built client, next to the compiled web server (dist/web/static). */
const ASSETS = fileURLToPath(new URL("../../web/static/", import.meta.url));

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError("--port must be 0-65535");
  return Number(text);
}

function openBrowser(url: string): void {
  // Best effort: without a desktop (no xdg-open) the printed URL is enough.
  const child = spawn("xdg-open", [url], { stdio: "ignore", detached: true });
  child.on("error", () => undefined);
  child.unref();
}

export function registerUi(program: Command): void {
  addSecretOptions(program.command("ui").argument("<vault>"))
    .description("explore the vault in a local, read-only web app (127.0.0.1 only)")
    .option("--port <n>", "port to listen on (default: any free port)", "0")
    .option("--no-open", "do not open a browser")
    .option("--json", "print {url, port} as one JSON line instead of text")
    .action(async (vaultPath: string, options) => {
      const port = parsePort(options.port as string);
      if (!existsSync(`${ASSETS}index.html`)) throw new SuedeError("FAILED", `the web client is not built (${ASSETS}); run npm run build`);
      await withVault(vaultPath, options, async (vault) => {
        const token = randomBytes(32).toString("hex");
        let bound = 0;
        // Loaded on use, like the library: `suede --version` stays free of the web stack.
        const [{ serve }, { createApp }] = await Promise.all([import("@hono/node-server"), import("../../web/server.ts")]);
        const app = createApp({ vault, token, port: () => bound, assetsDir: ASSETS });
        const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port });
        await new Promise<void>((resolve, reject) => {
          server.once("listening", resolve);
          server.once("error", (error: NodeJS.ErrnoException) =>
            reject(error.code === "EADDRINUSE" ? new UsageError(`port ${port} is in use`) : new SuedeError("FAILED", `cannot listen: ${error.message}`)),
          );
        });
        bound = (server.address() as AddressInfo).port;
        // The token is the session: this URL is the one secret suede prints, on purpose.
        const url = `http://127.0.0.1:${bound}/?token=${token}`;
        if (options.json === true) process.stdout.write(`${JSON.stringify({ url, port: bound })}\n`);
        else process.stdout.write(`suede ui: serving ${vault.path} read-only at\n  ${url}\nPress Ctrl-C to stop.\n`);
        if (options.open !== false) openBrowser(url);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            server.close(() => resolve());
            // Keep-alive connections would hold close() open.
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
      });
    });
}
