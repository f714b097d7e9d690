// The web UI's HTTP surface, in process: token and Host checks, security headers, path safety,
// paging, and archive contents compared byte for byte with the backed-up files.
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { inflateRawSync } from "node:zlib";
import { extract } from "tar-stream";
import { SuedeVault } from "../../src/api/suede-vault.ts";
import { COOKIE, createApp } from "../../src/web/server.ts";
import { PASSPHRASE } from "../helpers/cli.ts";
import { BIG_FOLDER_ENTRIES, type Fixture, makeFixture, NON_UTF8, PNG } from "./fixture.ts";

const PORT = 45_678;
const TOKEN = "a".repeat(64);
const HOST = `127.0.0.1:${PORT}`;

let fixture: Fixture;
let vault: SuedeVault;
let app: ReturnType<typeof createApp>;

const b64 = (path: string | Buffer) => Buffer.from(path).toString("base64url");

function get(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Response> {
  return Promise.resolve(app.request(`http://${HOST}${path}`, { method, headers: { host: HOST, "x-suede-token": TOKEN, ...headers } }));
}

async function json<T>(path: string): Promise<T> {
  const response = await get(path);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as T;
}

/** Files of a zip (central directory, then each member inflated): name → bytes. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressed);
    if (!name.endsWith("/")) files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

async function untar(tar: Buffer): Promise<Map<string, { type: string; data: Buffer }>> {
  const entries = new Map<string, { type: string; data: Buffer }>();
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const parts: Buffer[] = [];
      for await (const chunk of entry) parts.push(chunk as Buffer);
      entries.set(entry.header.name, { type: entry.header.type ?? "file", data: Buffer.concat(parts) });
    }
  })();
  ex.end(tar);
  await done;
  return entries;
}

/** Every regular file under dir: relative name → bytes (UTF-8 names only, as archives carry them). */
async function filesUnder(dir: string, prefix: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (abs: Buffer, rel: string): Promise<void> => {
    for (const entry of await readdir(abs, { withFileTypes: true, encoding: "buffer" })) {
      const full = Buffer.concat([abs, Buffer.from("/"), entry.name]);
      const name = `${rel}/${entry.name.toString("utf8")}`;
      if (entry.isDirectory()) await walk(full, name);
      else if (entry.isFile()) out.set(name, await readFile(full));
    }
  };
  await walk(Buffer.from(dir), prefix);
  return out;
}

before(async () => {
  fixture = await makeFixture();
  vault = await SuedeVault.open(fixture.vault, { secret: { passphrase: PASSPHRASE } });
  app = createApp({ vault, token: TOKEN, port: () => PORT, assetsDir: join(import.meta.dirname, "missing-assets") });
});

after(async () => {
  await vault.close();
  await fixture.cleanup();
});

describe("access control", () => {
  test("requests without the token, or with a wrong one, get 403", async () => {
    for (const headers of [{ "x-suede-token": "" }, { "x-suede-token": "b".repeat(64) }, { "x-suede-token": TOKEN.slice(1) }]) {
      for (const path of ["/", "/api/snapshots", `/api/file?s=1&p=${b64(`${fixture.src}/docs/notes.txt`)}`]) {
        assert.equal((await get(path, headers)).status, 403, `${path} ${JSON.stringify(headers)}`);
      }
    }
    assert.equal((await get("/api/snapshots", { "x-suede-token": "", cookie: `${COOKIE}=${"c".repeat(64)}` })).status, 403);
  });

  test("the URL token becomes an HttpOnly SameSite=Strict cookie and leaves the URL", async () => {
    const response = await get(`/?token=${TOKEN}`, { "x-suede-token": "" });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/");
    const cookie = response.headers.get("set-cookie") ?? "";
    assert.match(cookie, new RegExp(`^${COOKIE}=${TOKEN};`));
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.equal((await get("/api/snapshots", { "x-suede-token": "", cookie: `${COOKIE}=${TOKEN}` })).status, 200);
    assert.equal((await get(`/?token=${"0".repeat(64)}`, { "x-suede-token": "" })).status, 403);
  });

  test("a Host other than 127.0.0.1:port or localhost:port is refused even with the token (DNS rebinding)", async () => {
    for (const host of ["evil.example", `evil.example:${PORT}`, "127.0.0.1", `127.0.0.1:${PORT + 1}`, `[::1]:${PORT}`]) {
      assert.equal((await get("/api/snapshots", { host })).status, 403, host);
    }
    assert.equal((await get("/api/snapshots", { host: `localhost:${PORT}` })).status, 200);
  });

  test("nothing changes the vault: other methods are refused", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) assert.equal((await get("/api/snapshots", {}, method)).status, 405, method);
  });

  test("security headers on pages, API and refusals; file previews are sandboxed", async () => {
    for (const response of [await get("/api/snapshots"), await get("/api/snapshots", { "x-suede-token": "" })]) {
      const csp = response.headers.get("content-security-policy") ?? "";
      assert.match(csp, /default-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.equal(response.headers.get("referrer-policy"), "no-referrer");
    }
    const preview = await get(`/api/file?s=2&p=${b64(`${fixture.src}/docs/notes.txt`)}`);
    assert.match(preview.headers.get("content-security-policy") ?? "", /^sandbox; default-src 'none'/);
    assert.equal(preview.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(preview.headers.get("cache-control"), "no-store");
  });
});

describe("paths", () => {
  test("no path from a URL escapes the snapshot or reads outside it", async () => {
    const bad = [
      "/../../etc/passwd",
      `${fixture.src}/../../../etc/passwd`,
      `${fixture.src}/./docs`,
      "etc/passwd",
      "relative",
      "/etc\0/passwd",
    ];
    for (const path of bad) {
      const response = await get(`/api/file?s=1&p=${b64(path)}`);
      assert.equal(response.status, 400, path);
    }
    for (const raw of ["..%2F..", "L2V0Yy9wYXNzd2Q=", "L2V0Yy9wYXNzd2Q+", "%2Fetc%2Fpasswd"]) {
      assert.equal((await get(`/api/list?s=1&p=${raw}`)).status, 400, raw);
    }
    // A well-formed path that the snapshot does not hold is simply not found, never read from disk.
    assert.equal((await get(`/api/file?s=1&p=${b64("/etc/passwd")}`)).status, 404);
    assert.equal((await get(`/api/list?s=99&p=`)).status, 404);
  });

  test("a non-UTF-8 name round-trips through its base64url path", async () => {
    const page = await json<{ entries: { name: string; path: string }[] }>(`/api/list?s=1&p=${b64(`${fixture.src}/docs`)}`);
    const raw = Buffer.concat([Buffer.from(`${fixture.src}/docs/`), NON_UTF8]);
    assert.ok(page.entries.some((e) => e.path === b64(raw)));
    const response = await get(`/api/file?s=1&p=${b64(raw)}&download=1`);
    assert.equal(Buffer.from(await response.arrayBuffer()).toString(), "odd name\n");
  });
});

describe("browsing", () => {
  test(`a ${BIG_FOLDER_ENTRIES}-entry folder comes in pages, in order, with sort and filter`, async () => {
    const p = b64(`${fixture.src}/big`);
    type Page = { total: number; offset: number; entries: { name: string; size: number }[] };
    const first = await json<Page>(`/api/list?s=1&p=${p}`);
    assert.equal(first.total, BIG_FOLDER_ENTRIES);
    assert.equal(first.entries.length, 200);
    assert.equal(first.entries[0]!.name, "f00000.txt");
    const last = await json<Page>(`/api/list?s=1&p=${p}&offset=1100&limit=200`);
    assert.deepEqual(
      last.entries.map((e) => e.name),
      Array.from({ length: 100 }, (_, i) => `f${String(1100 + i).padStart(5, "0")}.txt`),
    );
    const bySize = await json<Page>(`/api/list?s=1&p=${p}&sort=size&order=desc&limit=3`);
    assert.deepEqual(bySize.entries.map((e) => e.size), [49, 49, 49]);
    const filtered = await json<Page>(`/api/list?s=1&p=${p}&filter=F0119`);
    assert.deepEqual(filtered.entries.map((e) => e.name), Array.from({ length: 10 }, (_, i) => `f0119${i}.txt`));
    assert.equal((await json<Page>(`/api/list?s=1&p=${p}&limit=999999`)).entries.length, 1000);
  });

  test("timeline, history and snapshot comparison", async () => {
    const snapshots = await json<{ number: number; stats: { files: number; bytesAdded: number } }[]>("/api/snapshots");
    assert.deepEqual(snapshots.map((s) => s.number), [1, 2]);
    assert.equal(snapshots[0]!.stats.files, BIG_FOLDER_ENTRIES + 4);
    const history = await json<{ versions: { changed: boolean; node: { size: number } | null }[] }>(`/api/history?p=${b64(`${fixture.src}/docs/notes.txt`)}`);
    assert.deepEqual(history.versions.map((v) => [v.changed, v.node?.size]), [[true, 29], [true, 45]]);
    const png = await json<{ versions: { changed: boolean; node: unknown }[] }>(`/api/history?p=${b64(`${fixture.src}/docs/pixel.png`)}`);
    assert.deepEqual(png.versions.map((v) => [v.changed, v.node === null]), [[true, false], [true, true]]);
    type Diff = { total: number; bytesBefore: number; bytesAfter: number; counts: Record<string, number>; changes: { kind: string; displayPath: string }[] };
    const diff = await json<Diff>(`/api/diff?a=1&b=2&p=${b64(`${fixture.src}/docs`)}`);
    const kinds = Object.fromEntries(diff.changes.filter((c) => !c.displayPath.endsWith("/docs")).map((c) => [c.displayPath.slice(fixture.src.length), c.kind]));
    assert.deepEqual(kinds, { "/docs/added.txt": "added", "/docs/notes.txt": "modified", "/docs/pixel.png": "removed" });
    // Changed files' sizes: notes.txt 29 and pixel.png 69 before; added.txt 9 and notes.txt 45 after.
    assert.deepEqual([diff.bytesBefore, diff.bytesAfter], [29 + PNG.length, 9 + 45]);
    const outside = await json<Diff>(`/api/diff?a=1&b=2&p=${b64(`${fixture.src}/big`)}`);
    assert.equal(outside.total, 0);
  });
});

describe("files and archives", () => {
  test("a download is the file's bytes; previews carry real content types", async () => {
    const response = await get(`/api/file?s=1&p=${b64(`${fixture.src}/docs/deep/data.bin`)}&download=1`);
    assert.equal(response.headers.get("content-type"), "application/octet-stream");
    assert.match(response.headers.get("content-disposition") ?? "", /^attachment; filename="data.bin"/);
    assert.ok(Buffer.from(await response.arrayBuffer()).equals(fixture.binary));
    const image = await get(`/api/file?s=1&p=${b64(`${fixture.src}/docs/pixel.png`)}`);
    assert.equal(image.headers.get("content-type"), "image/png");
    assert.ok(Buffer.from(await image.arrayBuffer()).equals(PNG));
    assert.equal((await get(`/api/file?s=1&p=${b64(`${fixture.src}/docs`)}`)).status, 400);
  });

  test("a folder as tar holds every file byte for byte", async () => {
    const response = await get(`/api/archive?s=2&p=${b64(`${fixture.src}/docs`)}&format=tar`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/x-tar");
    const entries = await untar(Buffer.from(await response.arrayBuffer()));
    const expected = await filesUnder(join(fixture.src, "docs"), "docs");
    const files = new Map([...entries].filter(([, e]) => e.type === "file").map(([name, e]) => [name, e.data]));
    // The non-UTF-8 name is carried lossily (tar names are text): compare the UTF-8 names exactly.
    for (const [name, data] of expected) if (!name.includes("\ufffd")) assert.ok(files.get(name)?.equals(data), name);
    assert.equal(files.size, expected.size);
    assert.equal(entries.get("docs/deep")?.type, "directory");
  });

  test("a folder as zip holds every file byte for byte", async () => {
    const response = await get(`/api/archive?s=1&p=${b64(`${fixture.src}/big`)}&format=zip`);
    assert.equal(response.headers.get("content-type"), "application/zip");
    const files = unzip(Buffer.from(await response.arrayBuffer()));
    const expected = await filesUnder(join(fixture.src, "big"), "big");
    assert.equal(files.size, BIG_FOLDER_ENTRIES);
    for (const [name, data] of expected) assert.ok(files.get(name)?.equals(data), name);
  });
});

describe("a live session", () => {
  test("a backup made while the UI runs shows up on the timeline", async () => {
    await writeFile(join(fixture.src, "docs", "later.txt"), "written while the UI runs\n");
    const writer = await SuedeVault.open(fixture.vault, { secret: { passphrase: PASSPHRASE }, writable: true });
    try {
      await writer.backup({ paths: [fixture.src] });
    } finally {
      await writer.close();
    }
    const snapshots = await json<{ number: number }[]>("/api/snapshots");
    assert.deepEqual(snapshots.map((s) => s.number), [1, 2, 3]);
    const page = await json<{ entries: { name: string }[] }>(`/api/list?s=3&p=${b64(`${fixture.src}/docs`)}`);
    assert.ok(page.entries.some((e) => e.name === "later.txt"));
  });
});
