// Preload (node --import) that appends the main thread's CPU seconds (user + sys) to the file named by
// SUEDE_MAIN_CPU_OUT when the process exits: the main thread is restore's busiest, and whole-process
// CPU mixes it with the workers, the KDF's threads and V8's own (issue 5).
import { appendFileSync, readFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

const out = process.env.SUEDE_MAIN_CPU_OUT;
if (isMainThread && out !== undefined && out !== "") {
  process.on("exit", () => {
    const stat = readFileSync("/proc/thread-self/stat", "utf8");
    // Fields after the command name: utime is the 12th, stime the 13th (clock ticks, 100 a second here).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    appendFileSync(out, `${(Number(fields[11]) + Number(fields[12])) / 100}\n`);
  });
}
