/**
 * One writer at a time: a sidecar lock file `VAULT.lock`, linked into place complete, holding the
 * owner's host, pid and process start time. Node has no flock, so a lock left by a killed process
 * is recognised as stale (same host, process gone or pid reused) and replaced. A writer also
 * checks the superblock sequence before every write (vault.ts), so one that bypassed the lock
 * stops at the other's commit; that check is not atomic, so the lock is the real protection.
 */
import { readFileSync } from "node:fs";
import { link, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { SuedeError, ioError, isErrno } from "../errors/errors.ts";
import { toHex } from "../util/bytes.ts";
import { systemRandom } from "../util/random.ts";

interface LockOwner {
  readonly host: string;
  readonly pid: number;
  readonly startTicks: string;
  readonly createdMs: number;
}

function processStartTicks(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? "";
  } catch {
    return "";
  }
}

function isAlive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if (isErrno(error, "ESRCH")) return false;
  }
  const ticks = processStartTicks(owner.pid);
  return ticks === "" || owner.startTicks === "" || ticks === owner.startTicks;
}

export class VaultLock {
  private constructor(
    private readonly path: string,
    private readonly content: string,
  ) {}

  /**
   * The lock file appears complete or not at all: it is written under a temporary name and
   * linked into place (link fails if the name exists). A stale lock is moved aside, and only
   * deleted if what was moved is the very lock judged stale; otherwise it is put back.
   */
  static async acquire(vaultPath: string, nowMs: number): Promise<VaultLock> {
    const path = `${vaultPath}.lock`;
    const me: LockOwner = { host: hostname(), pid: process.pid, startTicks: processStartTicks(process.pid), createdMs: nowMs };
    const content = `${JSON.stringify(me)}\n`;
    const temporary = `${path}.${process.pid}.${toHex(systemRandom.bytes(6))}`;
    try {
      await writeFile(temporary, content, { mode: 0o600, flag: "wx" });
    } catch (error) {
      // On a full disk the name is created but its content cannot be written: do not leave it.
      if (!isErrno(error, "EEXIST")) await unlink(temporary).catch(() => undefined);
      throw ioError(`creating lock ${path}`, error);
    }
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await link(temporary, path);
          return new VaultLock(path, content);
        } catch (error) {
          if (!isErrno(error, "EEXIST")) throw ioError(`creating lock ${path}`, error);
        }
        const existing = await readText(path);
        if (existing === null) continue;
        const owner = parseOwner(existing);
        if (owner !== null && (owner.host !== me.host || isAlive(owner))) throw lockedBy(owner, path);
        await breakStaleLock(path, existing);
      }
      throw new SuedeError("VAULT_LOCKED", `could not take the lock ${path}: other processes keep taking it`);
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  /** Removes the lock file if it is still ours. */
  async release(): Promise<void> {
    if ((await readText(this.path)) === this.content) await unlink(this.path).catch(() => undefined);
  }
}

function lockedBy(owner: LockOwner, path: string): SuedeError {
  return new SuedeError(
    "VAULT_LOCKED",
    `vault is locked by process ${owner.pid} on ${owner.host} since ${new Date(owner.createdMs).toISOString()} (lock file ${path})`,
  );
}

async function breakStaleLock(path: string, staleContent: string): Promise<void> {
  const aside = `${path}.stale.${toHex(systemRandom.bytes(6))}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (isErrno(error, "ENOENT")) return;
    throw ioError(`removing stale lock ${path}`, error);
  }
  const moved = await readText(aside);
  if (moved !== staleContent) {
    // Another process took the lock between our read and our rename: give it back.
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT")) return null;
    throw ioError(`reading lock ${path}`, error);
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string") return null;
    return {
      host: parsed.host,
      pid: parsed.pid,
      startTicks: typeof parsed.startTicks === "string" ? parsed.startTicks : "",
      createdMs: typeof parsed.createdMs === "number" ? parsed.createdMs : 0,
    };
  } catch {
    return null;
  }
}
