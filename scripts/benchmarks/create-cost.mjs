// What one small file's create (open with O_CREAT, as restore's fs/small-file.ts does it) costs the
// calling thread: 1,000 directories of 20 files of 5,000 bytes, created synchronously into DIR (which
// must not exist), with the open timed alone. Prints total wall time and the open's percentiles in µs.
// Run it twice, deleting DIR in between, to see ext4 without a journal skip the inodes freed in the
// last 30 s (fs/create-pace.ts): node create-cost.mjs /tmp/x; rm -rf /tmp/x; node create-cost.mjs /tmp/x
import { closeSync, constants, mkdirSync, openSync, writeSync } from "node:fs";

const base = process.argv[2];
if (base === undefined) {
  console.error("usage: create-cost.mjs DIR");
  process.exit(2);
}
mkdirSync(base);
const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const content = Buffer.alloc(5000, 1);
const times = [];
const start = process.hrtime.bigint();
for (let d = 0; d < 1000; d++) {
  mkdirSync(`${base}/${d}`);
  for (let f = 0; f < 20; f++) {
    const before = process.hrtime.bigint();
    const fd = openSync(`${base}/${d}/${f}`, flags, 0o600);
    times.push(Number(process.hrtime.bigint() - before));
    writeSync(fd, content);
    closeSync(fd);
  }
}
const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
times.sort((a, b) => a - b);
const us = (p) => (times[Math.floor(p * (times.length - 1))] / 1000).toFixed(1);
const mean = times.reduce((a, b) => a + b, 0) / times.length / 1000;
console.log(`${times.length} files in ${totalMs.toFixed(0)} ms; open µs p50 ${us(0.5)} p90 ${us(0.9)} p99 ${us(0.99)} max ${us(1)} mean ${mean.toFixed(1)}`);
