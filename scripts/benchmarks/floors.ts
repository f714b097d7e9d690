/**
 * The bench's physical floors (bench/lib/floors.ts) of one directory, without running the tools, and
 * optionally the byte breakdown of a suede vault (payload, Padmé padding, framing):
 *
 *   node --import tsx scripts/benchmarks/floors.ts DIR [--work SCRATCH] [--cold-reps N] [--vault V --passphrase P]
 *
 * Drops the page cache before each cold run (root only; elsewhere the cold figures are warm).
 */
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setLogDir } from "../../bench/lib/exec.ts";
import { measureCryptoRates, measureDataFloors, measureProcessFloors } from "../../bench/lib/floors.ts";
import { vaultBytes } from "../../bench/lib/padding.ts";

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dir = args[0];
if (dir === undefined || dir.startsWith("--")) {
  console.error("usage: floors.ts DIR [--work SCRATCH] [--cold-reps N] [--vault VAULT --passphrase P]");
  process.exit(2);
}
const work = opt("--work") ?? join(tmpdir(), `suede-floors-${process.pid}`);
mkdirSync(work, { recursive: true });
setLogDir(join(work, "log"));
try {
  const vault = opt("--vault");
  if (vault !== undefined) console.log(JSON.stringify(await vaultBytes(vault, opt("--passphrase") ?? process.env.SUEDE_PASSPHRASE ?? ""), null, 1));
  const proc = await measureProcessFloors();
  const rates = measureCryptoRates();
  const data = await measureDataFloors("dir", [dir], work, { coldReps: Number(opt("--cold-reps") ?? "3"), writes: true });
  console.log(JSON.stringify({ proc, rates, data }, null, 1));
} finally {
  if (opt("--work") === undefined) rmSync(work, { recursive: true, force: true });
}
