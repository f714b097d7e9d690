// Goal: the writer lock admits one writer, recognises stale locks of dead processes and never admits two at once. Method: lock files written by hand (live pid, dead pid, other host, garbage) in fresh temp dirs, and repeated concurrent acquires racing over a stale lock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { SuedeError } from "../errors/errors.ts";
import { VaultLock } from "./lock.ts";

function withDir(fn: (vaultPath: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = fs.mkdtempSync(`${os.tmpdir()}/suede-`);
    try {
      await fn(`${dir}/v.suede`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ["-e", ""]).pid;
  assert.ok(typeof pid === "number" && pid > 0);
  return pid;
}

const lockedError = (error: unknown) => error instanceof SuedeError && error.code === "VAULT_LOCKED";

test("VaultLock.acquire: a second acquire while held is VAULT_LOCKED; release frees it", withDir(async (vaultPath) => {
  const lock = await VaultLock.acquire(vaultPath, 1);
  const owner = JSON.parse(fs.readFileSync(`${vaultPath}.lock`, "utf8")) as { pid: number; host: string };
  assert.equal(owner.pid, process.pid);
  assert.equal(owner.host, os.hostname());
  await assert.rejects(VaultLock.acquire(vaultPath, 2), lockedError);
  await lock.release();
  assert.equal(fs.existsSync(`${vaultPath}.lock`), false);
  const again = await VaultLock.acquire(vaultPath, 3);
  await again.release();
  await again.release(); // idempotent
}));

test("VaultLock.acquire: replaces the lock of a dead process, an unreadable lock and a lock without pid", withDir(async (vaultPath) => {
  const contents = [
    `${JSON.stringify({ host: os.hostname(), pid: deadPid(), startTicks: "", createdMs: 0 })}\n`,
    "",
    "{not json",
    JSON.stringify({ host: os.hostname() }),
  ];
  for (const content of contents) {
    fs.writeFileSync(`${vaultPath}.lock`, content);
    const lock = await VaultLock.acquire(vaultPath, 1);
    assert.equal((JSON.parse(fs.readFileSync(`${vaultPath}.lock`, "utf8")) as { pid: number }).pid, process.pid, JSON.stringify(content));
    await lock.release();
  }
}));

test("VaultLock.acquire: a live process on this host or any process on another host keeps the lock", withDir(async (vaultPath) => {
  // This process is alive; its recorded start time matches (or is unknown).
  fs.writeFileSync(`${vaultPath}.lock`, JSON.stringify({ host: os.hostname(), pid: process.pid, startTicks: "", createdMs: 5 }));
  await assert.rejects(VaultLock.acquire(vaultPath, 1), lockedError);
  // Another host: liveness cannot be known, so the lock stands (even with a pid that is dead here).
  fs.writeFileSync(`${vaultPath}.lock`, JSON.stringify({ host: `${os.hostname()}-elsewhere`, pid: deadPid(), startTicks: "", createdMs: 5 }));
  await assert.rejects(VaultLock.acquire(vaultPath, 1), lockedError);
  assert.ok(fs.existsSync(`${vaultPath}.lock`), "a lock that is not stale is never removed");
}));

test("VaultLock.acquire: a live pid whose start time differs (pid reused) is stale", withDir(async (vaultPath) => {
  fs.writeFileSync(`${vaultPath}.lock`, JSON.stringify({ host: os.hostname(), pid: process.pid, startTicks: "1", createdMs: 5 }));
  const lock = await VaultLock.acquire(vaultPath, 1);
  await lock.release();
}));

test("VaultLock.acquire: two acquirers racing over a stale lock never both get it", withDir(async (vaultPath) => {
  const dead = deadPid();
  let both = 0;
  const races = 200;
  for (let i = 0; i < races; i++) {
    fs.writeFileSync(`${vaultPath}.lock`, `${JSON.stringify({ host: os.hostname(), pid: dead, startTicks: "", createdMs: 0 })}\n`);
    const results = await Promise.allSettled([VaultLock.acquire(vaultPath, 1), VaultLock.acquire(vaultPath, 2)]);
    const held = results.filter((r): r is PromiseFulfilledResult<VaultLock> => r.status === "fulfilled");
    for (const r of results) if (r.status === "rejected") assert.ok(lockedError(r.reason), String(r.reason));
    assert.ok(held.length >= 1, "one of them must get the lock");
    if (held.length === 2) both++;
    for (const r of held) await r.value.release();
    fs.rmSync(`${vaultPath}.lock`, { force: true });
  }
  assert.equal(both, 0, `both acquirers held the lock in ${both} of ${races} races`);
}));
