// End to end in a real browser: Debian's chromium, driven by playwright-core (never a browser download),
// against `suede ui --no-open` on a test vault.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { startSuede } from "../helpers/cli.ts";
import { type Fixture, makeFixture } from "./fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`;

let fixture: Fixture;
let server: ReturnType<typeof startSuede>;
let url: string;
let origin: string;
let browser: Browser;
let page: Page;

before(async () => {
  if (skip !== false) return;
  fixture = await makeFixture();
  server = startSuede(["ui", fixture.vault, "--no-open", "--json"]);
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve((JSON.parse(out.split("\n")[0]!) as { url: string }).url);
    });
    server.once("exit", (code) => reject(new Error(`suede ui exited ${code}`)));
  });
  origin = new URL(url).origin;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  page.setDefaultTimeout(30_000);
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  if (server !== undefined) {
    server.kill("SIGINT");
    const result = await server.result;
    assert.equal(result.code, 0, result.stderr);
  }
  await fixture?.cleanup();
});

/** Clicks folder by folder from the snapshot root down to the backed-up source folder. */
async function browseToSource(): Promise<void> {
  for (const part of fixture.src.split("/").filter((p) => p !== "")) {
    await page.locator("table.list a.row-link.dir", { hasText: new RegExp(`^${part}/$`) }).click();
    await page.locator("nav.crumbs a", { hasText: part }).waitFor();
  }
}

test("the session URL opens the timeline with a chart and every snapshot", { skip, timeout: 120_000 }, async () => {
  const response = await page.goto(url);
  assert.equal(response?.status(), 200);
  assert.equal(new URL(page.url()).search, "", "the token leaves the address bar");
  await page.getByRole("heading", { name: "Timeline" }).waitFor();
  assert.equal(await page.locator(".chart canvas").count(), 1);
  assert.equal(await page.locator("[data-testid^=snapshot-]").count(), 2);
});

test("browse into a folder, preview a text file, download a file with its exact bytes", { skip, timeout: 120_000 }, async () => {
  await page.getByTestId("snapshot-1").click();
  await page.getByRole("heading", { name: "Snapshot 1" }).waitFor();
  await browseToSource();
  await page.locator("a.row-link.dir", { hasText: "docs" }).click();
  await page.locator("a.row-link", { hasText: "notes.txt" }).click();
  await page.locator(".preview pre.text", { hasText: "line two" }).waitFor();
  // Keyboard: arrows move along the rows, Enter opens a folder.
  await page.locator("a.row-link", { hasText: "notes.txt" }).focus();
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("Enter");
  await page.locator("a.row-link", { hasText: "data.bin" }).click();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download").click()]);
  assert.equal(download.suggestedFilename(), "data.bin");
  assert.ok((await readFile((await download.path())!)).equals(fixture.binary));
});

test("a file's history shows both versions and a side-by-side diff", { skip, timeout: 120_000 }, async () => {
  await page.goto(`${origin}/#/browse/2/${Buffer.from(`${fixture.src}/docs`).toString("base64url")}`);
  await page.locator("a.row-link", { hasText: "notes.txt" }).click();
  await page.locator(".preview a", { hasText: "History" }).click();
  await page.getByRole("heading", { name: /History of .*notes\.txt/ }).waitFor();
  assert.equal(await page.locator("table.list tbody tr").count(), 2);
  await page.getByLabel("compare version 1").check();
  await page.getByLabel("compare version 2").check();
  await page.locator("table.diff td.del", { hasText: "line two" }).waitFor();
  await page.locator("table.diff td.add", { hasText: "line 2 changed" }).waitFor();
  await page.locator("table.diff td.add", { hasText: "line four" }).waitFor();
});

test("compare two snapshots: added, removed and changed, browsable", { skip, timeout: 120_000 }, async () => {
  await page.goto(`${origin}/#/`);
  await page.locator("a", { hasText: "vs 1" }).click();
  await page.getByRole("heading", { name: "Compare snapshots" }).waitFor();
  await page.locator("tr.kind-added", { hasText: "added.txt" }).waitFor();
  await page.locator("tr.kind-removed", { hasText: "pixel.png" }).waitFor();
  await page.locator("tr.kind-modified", { hasText: "notes.txt" }).waitFor();
  await page.locator("a.row-link", { hasText: /\/docs\/$/ }).click();
  await page.locator("nav.crumbs a", { hasText: "docs" }).waitFor();
  assert.match(await page.locator(".summary").innerText(), /1 added · 1 removed · 1 changed/);
});

test("the vault page shows facts and key slots", { skip, timeout: 120_000 }, async () => {
  await page.goto(`${origin}/#/info`);
  await page.locator("dd", { hasText: "×" }).first().waitFor();
  await page.locator("td", { hasText: "unlocked this session" }).waitFor();
});

test("a browser without the session cookie is refused", { skip, timeout: 120_000 }, async () => {
  const stranger = await browser.newPage();
  const response = await stranger.goto(`${origin}/`);
  assert.equal(response?.status(), 403);
  const api = await stranger.goto(`${origin}/api/snapshots`);
  assert.equal(api?.status(), 403);
  await stranger.close();
});
