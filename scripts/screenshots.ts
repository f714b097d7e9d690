// Saves PNGs of the web UI's main screens to docs/screenshots/ (for the README), using the test fixture
// vault, `suede ui` from dist/ and Debian's chromium. Run: npm run build && node --import tsx scripts/screenshots.ts
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { REPO, startSuede } from "../test/helpers/cli.ts";
import { makeFixture } from "../test/web/fixture.ts";

const out = join(REPO, "docs", "screenshots");
await mkdir(out, { recursive: true });
const fixture = await makeFixture();
const server = startSuede(["ui", fixture.vault, "--no-open", "--json"]);
try {
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    server.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes("\n")) resolve((JSON.parse(text.split("\n")[0]!) as { url: string }).url);
    });
    server.once("exit", (code) => reject(new Error(`suede ui exited ${code}`)));
  });
  const origin = new URL(url).origin;
  const docs = Buffer.from(`${fixture.src}/docs`).toString("base64url");
  const notes = Buffer.from(`${fixture.src}/docs/notes.txt`).toString("base64url");
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
  await page.goto(url);
  const shoot = async (name: string, hash: string, ready: string, act?: () => Promise<void>): Promise<void> => {
    await page.goto(`${origin}/${hash}`);
    await page.locator(ready).first().waitFor();
    await act?.();
    await page.screenshot({ path: join(out, `${name}.png`) });
  };
  await shoot("timeline", "#/", ".chart canvas");
  await shoot("browse", `#/browse/2/${docs}`, "table.list a.row-link", () => page.locator("a.row-link", { hasText: "notes.txt" }).click().then(() => page.locator(".preview pre").waitFor()));
  await shoot("history", `#/history/2/${notes}`, "table.list tbody tr", async () => {
    await page.getByLabel("compare version 1").check();
    await page.getByLabel("compare version 2").check();
    await page.locator("table.diff").waitFor();
  });
  await shoot("compare", `#/compare/1/2/${docs}`, ".summary");
  await shoot("vault", "#/info", "dl.facts dd");
  await browser.close();
} finally {
  server.kill("SIGINT");
  await server.result;
  await fixture.cleanup();
}
