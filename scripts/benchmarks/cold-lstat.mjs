// lstat of every entry under a tree, the way backup's walk could issue them: synchronously, one at a
// time (what the file workers do), or through the libuv pool with LANES calls per directory and 4
// directories at once. Prints entries, wall and CPU milliseconds. Drop the page cache first to time
// it cold: sync; echo 3 > /proc/sys/vm/drop_caches; UV_THREADPOOL_SIZE=16 node cold-lstat.mjs DIR sync|pool [LANES]
import { lstatSync, promises as fsp, readdirSync } from "node:fs";

const [root, mode, lanesArg] = process.argv.slice(2);
if (root === undefined || (mode !== "sync" && mode !== "pool")) {
  console.error("usage: cold-lstat.mjs DIR sync|pool [LANES]");
  process.exit(2);
}
const lanes = Number(lanesArg ?? 8);
const start = performance.now();
let entries = 0;

if (mode === "sync") {
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      entries++;
      if (lstatSync(`${dir}/${name}`, { bigint: true }).isDirectory()) walk(`${dir}/${name}`);
    }
  };
  walk(root);
} else {
  const dirs = [root];
  const listSome = async () => {
    while (dirs.length > 0) {
      const dir = dirs.pop();
      const names = await fsp.readdir(dir);
      let next = 0;
      const lane = async () => {
        while (next < names.length) {
          const path = `${dir}/${names[next++]}`;
          entries++;
          if ((await fsp.lstat(path, { bigint: true })).isDirectory()) dirs.push(path);
        }
      };
      await Promise.all(Array.from({ length: lanes }, lane));
    }
  };
  // A lister that finds no directory left stops; the last one to stop ends the walk.
  await new Promise((resolve) => {
    let active = 0;
    const spawn = () => {
      while (active < 4 && dirs.length > 0) {
        active++;
        void listSome().then(() => {
          active--;
          if (active === 0 && dirs.length === 0) resolve();
          else spawn();
        });
      }
    };
    spawn();
  });
}
const cpu = process.cpuUsage();
console.log(`${mode} entries=${entries} wall_ms=${(performance.now() - start).toFixed(0)} cpu_ms=${((cpu.user + cpu.system) / 1000).toFixed(0)}`);
