// Goal: a victim writer for the SIGKILL fault test (crash-recovery.test.ts). Method: waits for "go <tag>"
// on stdin (so module loading overlaps the parent's work), opens the vault writable, prints "ready",
// then backs up the source directory up to four times with short random pauses, printing
// "committed <n>" after each commit, and then idles holding the lock until it is killed.
// Usage: node --import tsx test/fault/sigkill-child.ts <vault> <source dir>
import { createInterface } from "node:readline";
import { SuedeVault } from "../../src/api/suede-vault.ts";

const [vaultPath, sourceDir] = process.argv.slice(2);
if (vaultPath === undefined || sourceDir === undefined) {
  process.stderr.write("usage: sigkill-child.ts <vault> <source dir>\n");
  process.exit(2);
}

const lines = createInterface({ input: process.stdin });
let tag: string | null = null;
await new Promise<void>((resolve) => {
  lines.on("line", (line) => {
    const match = /^go (\S+)$/.exec(line.trim());
    if (match === null || tag !== null) return;
    tag = match[1]!;
    resolve();
  });
  // The parent went away before saying "go": nothing to do.
  lines.on("close", () => {
    if (tag === null) process.exit(3);
  });
});

const vault = await SuedeVault.open(vaultPath, { secret: { passphrase: "fault-test" }, writable: true });
process.stdout.write("ready\n");
for (let i = 0; i < 4; i++) {
  const result = await vault.backup({ paths: [sourceDir], tags: [tag!] });
  process.stdout.write(`committed ${result.id}\n`);
  // A short random pause spreads the backups over the parent's kill window (20–1500 ms).
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
}
process.stdout.write("idle\n");
setInterval(() => undefined, 60_000);
