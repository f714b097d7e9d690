// Reads the first 64 KiB of every file under a tree the way a file worker reads small files' heads:
// synchronously one at a time (open, read, fstat, close), or the read through the libuv pool with
// IN_FLIGHT files at once (open, fstat and close synchronous, as file-worker.ts does). The walk is
// done first and not timed (readdir + lstat, as the workers list: inodes
// are then cached, file data not). Prints files, wall ms and this process's CPU ms (user + sys, every
// thread: the pool's included). Cold: sync; echo 3 > /proc/sys/vm/drop_caches; then
// UV_THREADPOOL_SIZE=N node cold-read.mjs DIR sync|pool [IN_FLIGHT]   (the pool's size is read at
// process start, so it must come from the environment).
import { closeSync, constants, fstatSync, lstatSync, openSync, read, readdirSync, readSync } from "node:fs";

const [root, mode, inFlightArg] = process.argv.slice(2);
if (root === undefined || (mode !== "sync" && mode !== "pool")) {
  console.error("usage: cold-read.mjs DIR sync|pool [IN_FLIGHT]");
  process.exit(2);
}
const inFlight = Number(inFlightArg ?? 32);
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const stat = lstatSync(`${dir}/${name}`, { bigint: true });
    if (stat.isDirectory()) walk(`${dir}/${name}`);
    else if (stat.isFile()) files.push(`${dir}/${name}`);
  }
};
walk(root);
const cpu0 = process.cpuUsage();
const start = performance.now();
const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
let bytes = 0;
if (mode === "sync") {
  const head = new Uint8Array(64 * 1024);
  for (const path of files) {
    const fd = openSync(path, flags);
    bytes += readSync(fd, head, 0, head.byteLength, null);
    fstatSync(fd, { bigint: true });
    closeSync(fd);
  }
} else {
  let next = 0;
  const lane = async () => {
    const head = new Uint8Array(64 * 1024);
    while (next < files.length) {
      const fd = openSync(files[next++], flags);
      const n = await new Promise((resolve, reject) => read(fd, head, 0, head.byteLength, null, (error, got) => (error === null ? resolve(got) : reject(error))));
      bytes += n;
      fstatSync(fd, { bigint: true });
      closeSync(fd);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
}
const cpu = process.cpuUsage(cpu0);
console.log(`${mode}${mode === "pool" ? ` in_flight=${inFlight} pool=${process.env.UV_THREADPOOL_SIZE ?? 4}` : ""} files=${files.length} MB=${(bytes / 1e6).toFixed(0)} wall_ms=${(performance.now() - start).toFixed(0)} cpu_ms=${((cpu.user + cpu.system) / 1000).toFixed(0)}`);
