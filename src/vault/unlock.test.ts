// Goal: an unlock started before Vault.open (EarlyUnlock, so Argon2id runs while the CLI loads the
// library) is used only when it unlocked the very header copies the open reads under its lock, with
// the same secret; otherwise the open unlocks again and the result is the same as without it.
// Method: count KDF runs on the "suede:kdf" channel; change the header (a key slot added) between
// the early unlock and the open; start one with a wrong secret, and one on a missing file.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import * as fs from "node:fs";
import * as os from "node:os";
import { test } from "node:test";
import { KDF_CHANNEL } from "../crypto/kdf.ts";
import { SuedeError } from "../errors/errors.ts";
import { systemClock } from "../util/clock.ts";
import { systemRandom } from "../util/random.ts";
import { EarlyUnlock } from "./unlock.ts";
import { Vault } from "./vault.ts";

const deps = { clock: systemClock, random: systemRandom };
const CHEAP_KDF = { iterations: 1, memoryKiB: 64, parallelism: 1 };
const SECRET = new TextEncoder().encode("early unlock");
const OTHER = new TextEncoder().encode("another passphrase");

async function countingKdfRuns<T>(run: () => Promise<T>): Promise<{ value: T; kdfRuns: number }> {
  let kdfRuns = 0;
  const onKdf = () => kdfRuns++;
  subscribe(KDF_CHANNEL, onKdf);
  try {
    return { value: await run(), kdfRuns };
  } finally {
    unsubscribe(KDF_CHANNEL, onKdf);
  }
}

async function openWith(path: string, secret: Uint8Array, earlyUnlock: EarlyUnlock | undefined, writable = false): Promise<number> {
  const vault = await Vault.open(path, { secret, writable, deps, ...(earlyUnlock !== undefined ? { earlyUnlock } : {}) });
  try {
    return vault.unlockedSlot;
  } finally {
    await vault.close();
  }
}

test("early unlock: used when the header and secret are unchanged; unlocked again when either differs", async () => {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/suede-unlock-`);
  try {
    const path = `${dir}/v.suede`;
    await Vault.create(path, { secret: SECRET, slotKind: "passphrase", kdf: CHEAP_KDF, deps });

    const used = await countingKdfRuns(async () => openWith(path, SECRET, new EarlyUnlock(path, SECRET), true));
    assert.deepEqual(used, { value: 0, kdfRuns: 1 }, "one derivation: the open takes the early one's result");

    const wrongEarly = await countingKdfRuns(async () => openWith(path, SECRET, new EarlyUnlock(path, OTHER)));
    assert.equal(wrongEarly.value, 0);
    // The early one tries both header copies (neither opens with its secret), then the open's own.
    assert.equal(wrongEarly.kdfRuns, 3, "an early unlock with another secret is not used");

    // A key slot added after the early unlock read the header: the open reads the new header and
    // unlocks it itself, so the new slot opens the vault.
    const early = new EarlyUnlock(path, OTHER);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the early unlock has read the old header
    const writer = await Vault.open(path, { secret: SECRET, writable: true, deps });
    const added = await writer.addKeySlot(OTHER, "passphrase", CHEAP_KDF);
    await writer.close();
    assert.equal(await openWith(path, OTHER, early), added, "the new header's slot unlocks, not the early result");

    await assert.rejects(openWith(path, new TextEncoder().encode("wrong"), new EarlyUnlock(path, new TextEncoder().encode("wrong"))), (error: unknown) => error instanceof SuedeError && error.code === "WRONG_PASSPHRASE");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("early unlock: a missing file is reported by the open as without it, and leaves no unhandled rejection", async () => {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/suede-unlock-`);
  try {
    const path = `${dir}/missing.suede`;
    await assert.rejects(openWith(path, SECRET, new EarlyUnlock(path, SECRET)), (error: unknown) => error instanceof SuedeError && error.code === "VAULT_NOT_FOUND");
    new EarlyUnlock(path, SECRET); // never asked for: its failure must not surface on its own
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
