// Argon2id at the bench's parameters (t=47, m=64 MiB, p=4) alone, or beside a main thread kept busy in 4 ms
// slices as the prelister keeps it (backup/prelist.ts), or busy half the time. Prints wall ms, the CPU ms of
// the threads other than the main one (Argon2id's), and the load average.
// Usage: node scripts/benchmarks/kdf-busy.mjs alone|busy|half
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { hashRaw } from "@node-rs/argon2";

const mode = process.argv[2] ?? "alone";
const mainCpuMs = () => {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
let running = mode !== "alone";
const slice = () => {
  const started = performance.now();
  while (performance.now() - started < 4);
  if (running) (mode === "half" ? setTimeout(slice, 4) : setImmediate(slice));
};
if (running) setImmediate(slice);
const cpu0 = process.cpuUsage();
const main0 = mainCpuMs();
const t0 = performance.now();
await hashRaw(Buffer.from("bench"), { algorithm: 2, version: 1, timeCost: 47, memoryCost: 65536, parallelism: 4, outputLen: 32, salt: Buffer.alloc(32) });
const wall = performance.now() - t0;
running = false;
const cpu = process.cpuUsage(cpu0);
const lanes = (cpu.user + cpu.system) / 1000 - (mainCpuMs() - main0);
console.log(`${mode} wall=${wall.toFixed(0)} kdf_cpu=${lanes.toFixed(0)} load=${loadavg()[0].toFixed(1)}`);
