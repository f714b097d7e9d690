/**
 * One writer at a time: a sidecar lock file `VAULT.lock` created with O_EXCL, holding the owner's
 * host, pid and process start time. Node has no flock, so a lock left by a killed process is
 * recognised as stale (same host, process gone or pid reused) and replaced. The commit also
 * compares the superblock sequence before writing (vault.ts): a second writer that bypassed the
 * lock usually fails at commit, but that check is not atomic, so the lock is the real protection.
 */
import { readFileSync } from "node:fs";
import { open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { SuedeError, ioError, isErrno } from "../errors/errors.ts";

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
  private constructor(private readonly path: string) {}

  static async acquire(vaultPath: string, nowMs: number): Promise<VaultLock> {
    const path = `${vaultPath}.lock`;
    const me: LockOwner = { host: hostname(), pid: process.pid, startTicks: processStartTicks(process.pid), createdMs: nowMs };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(path, "wx", 0o600);
        await handle.writeFile(`${JSON.stringify(me)}\n`);
        await handle.close();
        return new VaultLock(path);
      } catch (error) {
        if (!isErrno(error, "EEXIST")) throw ioError(`creating lock ${path}`, error);
      }
      const owner = await readOwner(path);
      if (owner !== null && (owner.host !== me.host || isAlive(owner))) {
        throw new SuedeError(
          "VAULT_LOCKED",
          `vault is locked by process ${owner.pid} on ${owner.host} since ${new Date(owner.createdMs).toISOString()} (lock file ${path})`,
        );
      }
      // Stale (owner gone) or unreadable half-written lock from a killed process: replace it.
      await unlink(path).catch((error: unknown) => {
        if (!isErrno(error, "ENOENT")) throw ioError(`removing stale lock ${path}`, error);
      });
    }
    throw new SuedeError("VAULT_LOCKED", `could not take the lock ${path}`);
  }

  async release(): Promise<void> {
    await unlink(this.path).catch(() => undefined);
  }
}

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Partial<LockOwner>;
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
