// Goal: the CLI side of RELIABILITY.md T17: a KDF below the recommended floor is accepted only with a
// warning at init and stays visibly marked in `info` and `key list`; parameters beyond the format's caps are
// a usage error that creates no file. (Caps at open and the floor itself: src/crypto/crypto.test.ts and
// src/vault/header.test.ts.) Method: the CLI.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FAST_KDF, suede, suedeOk, tempDir } from "../helpers/cli.ts";

test("a test-only KDF: init warns, info and key list mark the slot; KDF memory beyond the cap: exit 2, no file", { timeout: 60_000 }, async () => {
  const work = await tempDir("kdf");
  try {
    const vault = join(work.path, "vault.suede");
    const init = await suedeOk(["init", vault, ...FAST_KDF]);
    assert.match(init.stderr, /^suede: warning: KDF below the recommended floor \(Argon2id t=3, m=64 MiB, p=4\); use only for tests$/m);
    const info = JSON.parse((await suedeOk(["info", vault, "--json"])).stdout) as { keySlots: { kdf: unknown; belowFloor: boolean }[] };
    assert.deepEqual(info.keySlots.map((s) => [s.kdf, s.belowFloor]), [[{ iterations: 1, memoryKiB: 1024, parallelism: 1 }, true]]);
    assert.match((await suedeOk(["info", vault])).stdout, /KDF below floor/);
    assert.match((await suedeOk(["key", "list", vault])).stdout, /below the recommended floor: tests only/);

    const huge = join(work.path, "huge.suede");
    const refused = await suede(["init", huge, "--kdf-memory", "5000000"]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /KDF memory \d+ KiB outside/);
    assert.ok(!existsSync(huge));
  } finally {
    await work.remove();
  }
});
