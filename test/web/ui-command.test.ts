// The `suede ui` command itself: what it prints, where it listens, how it refuses bad options and stops.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, test } from "node:test";
import { EXIT_CODES } from "../../src/errors/exit-codes.ts";
import { startSuede, suede } from "../helpers/cli.ts";
import { type Fixture, makeFixture } from "./fixture.ts";

let fixture: Fixture;
before(async () => {
  fixture = await makeFixture();
}, { timeout: 120_000 });
after(async () => fixture?.cleanup());

test("prints a loopback session URL with a 256-bit token, serves it, and stops on SIGTERM with exit 0", { timeout: 60_000 }, async () => {
  const child = startSuede(["ui", fixture.vault, "--no-open"]);
  const text = await new Promise<string>((resolve) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Ctrl-C")) resolve(out);
    });
  });
  const match = /http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]{64})\n/.exec(text);
  assert.ok(match, text);
  const response = await fetch(`http://127.0.0.1:${match[1]}/api/snapshots`, { headers: { "x-suede-token": match[2]! } });
  assert.equal(response.status, 200);
  assert.equal(((await response.json()) as unknown[]).length, 2);
  child.kill("SIGTERM");
  const result = await child.result;
  assert.equal(result.code, 0, result.stderr);
});

test("a bad or busy --port is a usage error with one line", { timeout: 60_000 }, async () => {
  const bad = await suede(["ui", fixture.vault, "--no-open", "--port", "http"]);
  assert.equal(bad.code, EXIT_CODES.USAGE);
  assert.equal(bad.stderr.trim(), "suede: --port must be 0-65535");
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const busy = await suede(["ui", fixture.vault, "--no-open", "--port", String(port)]);
    assert.equal(busy.code, EXIT_CODES.USAGE);
    assert.match(busy.stderr, new RegExp(`^suede: port ${port} is in use\\n$`, "m"));
  } finally {
    blocker.close();
  }
});

test("a wrong passphrase never starts the server", { timeout: 60_000 }, async () => {
  const result = await suede(["ui", fixture.vault, "--no-open"], { passphrase: "wrong" });
  assert.notEqual(result.code, 0);
  assert.equal(result.stdout, "");
});
