// The phases of SUEDE_DEBUG timelines collected by cold-move.sh and cold-timeline.sh: the gaps between
// marks (node start -> cli, ..., closed -> the wall's end), median and range per group, in ms.
// Usage: node timeline-phases.mjs RUNS KEYS. Each line of RUNS is "<KEYS key fields> <load> <wall s> ... |<timeline>";
// the key fields name the group (e.g. the build, or the step and the build).
import { readFileSync } from "node:fs";

const [runsPath, keysText] = process.argv.slice(2);
const keys = Number(keysText);
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
const groups = new Map();
for (const line of readFileSync(runsPath, "utf8").split("\n")) {
  const [head, timeline] = line.split("|");
  if (!timeline || timeline.trim() === "") continue;
  const fields = head.split(" ");
  const group = fields.slice(0, keys).join(" ");
  const wall = fields[keys + 1];
  const marks = [["node start", 0]];
  for (const part of timeline.split(",")) {
    const m = /^\s*(.*?) (\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) continue;
    if (m[3] === undefined) marks.push([m[1], Number(m[2])]);
    else marks.push([`${m[1]} start`, Number(m[2])], [`${m[1]} end`, Number(m[3])]);
  }
  marks.sort((a, b) => a[1] - b[1]);
  marks.push(["exit", Number(wall) * 1000]);
  const gaps = groups.get(group) ?? new Map();
  for (let i = 1; i < marks.length; i++) {
    const name = `${marks[i - 1][0]} -> ${marks[i][0]}`;
    gaps.set(name, [...(gaps.get(name) ?? []), marks[i][1] - marks[i - 1][1]]);
  }
  groups.set(group, gaps);
}
for (const [group, gaps] of groups) {
  console.log(`phases, ${group}:`);
  for (const [name, values] of gaps) console.log(`  ${name.padEnd(40)} ${String(Math.round(median(values))).padStart(6)} ms (${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}, ${values.length} runs)`);
}
