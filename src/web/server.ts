/** The web UI's HTTP app: session token, Host check, security headers, the API, and the built client. */
import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { SuedeVault } from "../api/suede-vault.ts";
import { SuedeError } from "../errors/errors.ts";
import { apiRoutes } from "./api.ts";

export const COOKIE = "suede_session";

export interface AppOptions {
  readonly vault: SuedeVault;
  /** The session secret (hex); every request must carry it (cookie, header or the first URL). */
  readonly token: string;
  /** The port actually listened on, known once bound: Host must name it. */
  readonly port: () => number;
  /** Directory of the built client (index.html, app.js, app.css). */
  readonly assetsDir: string;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

const ASSETS: Readonly<Record<string, string>> = {
  "/app.js": "text/javascript; charset=utf-8",
  "/app.css": "text/css; charset=utf-8",
};

function sameSecret(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const STATUS: Partial<Record<string, 400 | 404 | 422>> = { USAGE: 400, PATH_NOT_FOUND: 404, SNAPSHOT_NOT_FOUND: 404, FAILED: 422 };

export function createApp(options: AppOptions): Hono {
  const app = new Hono();

  app.use("*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      // File previews bring their own, stricter policy.
      if (name === "Content-Security-Policy" && c.res.headers.has(name)) continue;
      c.res.headers.set(name, value);
    }
  });

  // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host name.
  app.use("*", async (c, next) => {
    const host = c.req.header("host");
    const port = options.port();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return c.text("wrong Host header\n", 403);
    await next();
  });

  app.use("*", async (c, next) => {
    const url = new URL(c.req.url);
    const fromUrl = url.searchParams.get("token") ?? undefined;
    if (c.req.method === "GET" && sameSecret(fromUrl, options.token)) {
      // Trade the URL token for a cookie and drop it from the address bar and history.
      setCookie(c, COOKIE, options.token, { httpOnly: true, sameSite: "Strict", path: "/" });
      url.searchParams.delete("token");
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    if (!sameSecret(getCookie(c, COOKIE), options.token) && !sameSecret(c.req.header("x-suede-token"), options.token)) {
      return c.text("forbidden: open the URL that suede ui printed\n", 403);
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return c.text("read-only\n", 405);
    await next();
  });

  app.route("/api", apiRoutes(options.vault));

  app.get("/", async (c) => c.html(await readFile(join(options.assetsDir, "index.html"), "utf8")));
  for (const [path, type] of Object.entries(ASSETS)) {
    app.get(path, async (c) => c.body(await readFile(join(options.assetsDir, path.slice(1))), 200, { "Content-Type": type }));
  }

  app.onError((error, c) => {
    if (error instanceof SuedeError) return c.json({ error: error.message, code: error.code }, STATUS[error.code] ?? 500);
    return c.json({ error: `internal error: ${error.message}` }, 500);
  });
  app.notFound((c) => c.json({ error: "not found" }, 404));
  return app;
}
