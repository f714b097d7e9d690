/**
 * Mount benchmark (issue 6): `ls -lR` of a snapshot with many files, cold and warm, and `cat` of a
 * big file through the mount against `suede restore` of the same file.
 *
 *   npm run bench:mount -- [--files N] [--file-mib M] [--work DIR] [--keep]
 *
 * Defaults: 100,000 files, 1024 MiB. Needs FUSE and a built dist/ (npm run build). Data, vault and
 * restores live in a temp directory under --work (default the system temp dir), removed at the end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const REPO = resolve(import.meta.dirname, "..");
const CLI = join(REPO, "dist", "cli", "main.js");
const ENV: NodeJS.ProcessEnv = { ...process.env, SUEDE_PASSPHRASE: "mount bench" };
delete ENV.SUEDE_DEBUG;
const FAST_KDF = ["--kdf-memory", "1", "--kdf-iterations", "1", "--kdf-parallelism", "1"];

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

const files = Number(option("--files", "100000"));
const fileMiB = Number(option("--file-mib", "1024"));
const work = option("--work", tmpdir());
const keep = process.argv.includes("--keep");

/** Runs a program without a shell; resolves with the seconds it took and how many bytes it wrote. */
function run(command: string, args: readonly string[]): Promise<{ seconds: number; outBytes: number }> {
  const started = process.hrtime.bigint();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env: ENV, stdio: ["ignore", "pipe", "pipe"] });
    let outBytes = 0;
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (outBytes += chunk.length));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${err}`));
      else resolvePromise({ seconds: Number(process.hrtime.bigint() - started) / 1e9, outBytes });
    });
  });
}

function startMount(vault: string, mountpoint: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, "mount", vault, mountpoint], { env: ENV, stdio: ["ignore", "ignore", "pipe"] });
  let seen = "";
  return new Promise((resolvePromise, reject) => {
    child.stderr.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes("suede: mounted ")) resolvePromise(child);
    });
    child.once("close", (code) => reject(new Error(`mount exited ${code}: ${seen}`)));
  });
}

function makeData(root: string): string {
  const perDir = 1000;
  for (let i = 0; i < files; i++) {
    const dir = join(root, "many", `d${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n`);
  }
  const big = join(root, "big.bin");
  const fd = openSync(big, "w");
  const block = Buffer.alloc(8 * 1024 * 1024);
  for (let written = 0; written < fileMiB * 1024 * 1024; written += block.length) writeSync(fd, randomFillSync(block), 0, Math.min(block.length, fileMiB * 1024 * 1024 - written));
  closeSync(fd);
  return big;
}

const mib = (bytes: number, seconds: number) => `${(bytes / 1024 / 1024 / seconds).toFixed(0)} MiB/s`;

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error("dist/ is missing: run npm run build first");
  if (!existsSync("/dev/fuse")) throw new Error("/dev/fuse is missing: install libfuse2 and fuse3");
  const dir = mkdtempSync(join(work, "suede-mount-bench-"));
  let mount: ChildProcess | null = null;
  try {
    const source = join(dir, "src");
    const vault = join(dir, "v.suede");
    const mountpoint = join(dir, "mnt");
    mkdirSync(mountpoint);
    console.log(`data: ${files} small files + one ${fileMiB} MiB random file under ${dir}`);
    const big = makeData(source);
    await run(process.execPath, [CLI, "init", vault, ...FAST_KDF]);
    const backup = await run(process.execPath, [CLI, "backup", vault, source]);
    console.log(`backup: ${backup.seconds.toFixed(1)} s`);

    mount = await startMount(vault, mountpoint);
    const tree = join(mountpoint, "snapshots", "1", source, "many");
    const cold = await run("ls", ["-lR", tree]);
    const warm = await run("ls", ["-lR", tree]);
    const cat = await run("cat", [join(mountpoint, "snapshots", "1", big)]);
    const restore = await run(process.execPath, [CLI, "restore", vault, "1", "--target", join(dir, "restored"), "--include", big]);
    const bytes = fileMiB * 1024 * 1024;
    if (cat.outBytes !== bytes) throw new Error(`cat read ${cat.outBytes} bytes, expected ${bytes}`);
    const lines = [
      `ls -lR of ${files} files: cold ${cold.seconds.toFixed(2)} s (${Math.round(files / cold.seconds)} files/s), warm ${warm.seconds.toFixed(2)} s`,
      `cat ${fileMiB} MiB through the mount: ${cat.seconds.toFixed(2)} s (${mib(bytes, cat.seconds)})`,
      `suede restore of the same file:  ${restore.seconds.toFixed(2)} s (${mib(bytes, restore.seconds)})`,
      `mount read / restore speed: ${(restore.seconds / cat.seconds).toFixed(2)}x (target >= 0.5x)`,
    ];
    for (const line of lines) console.log(line);
    mkdirSync(join(REPO, "bench", "out"), { recursive: true });
    writeFileSync(join(REPO, "bench", "out", "mount-last.txt"), `${lines.join("\n")}\n`);
  } finally {
    if (mount !== null && mount.exitCode === null) {
      mount.kill("SIGTERM");
      await new Promise((resolvePromise) => mount!.once("close", resolvePromise));
    }
    if (readFileSync("/proc/self/mounts", "utf8").includes(join(dir, "mnt"))) await run("fusermount", ["-u", "-z", join(dir, "mnt")]);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
