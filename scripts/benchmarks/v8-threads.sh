#!/usr/bin/env bash
# Warm A/B of V8 options and builds with the CPU of each kind of thread (issue 5: TurboFan compiles
# and GC run on V8's platform threads, which the total hides). Rounds interleave the variants.
# Usage: v8-threads.sh DATA STEP RUNS 'label|node options|dist/cli/main.js' ...
#   STEP: first (backup into a new vault), rerun (no-change backup), restore (latest, into an empty dir).
#   The node options come after the shebang's (MALLOC_ARENA_MAX=2, --max-semi-space-size=2), so a later
#   flag overrides one there. Prints each run, then per label the medians of: wall s, peak RSS MiB,
#   CPU-s (user + sys), and CPU-s of the main thread, of the four platform threads and of all others
#   (file or open workers, libuv pool). Threads are told apart by creation order, as node 20 starts
#   them: main, the delayed-task thread, the four platform workers, then the rest.
set -euo pipefail
DATA=${1:?data dir}; STEP=${2:?first, rerun or restore}; RUNS=${3:?runs}; shift 3
[ $# -gt 0 ] || { echo "no variant given" >&2; exit 2; }
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/suede-v8.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
export SUEDE_PASSPHRASE=bench
cat >"$SCRATCH/sample.mjs" <<'JS'
// Runs argv under /usr/bin/time and samples its child's threads every 20 ms (a thread's last 20 ms may be missed).
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
const [timeFile, ...command] = process.argv.slice(2);
const child = spawn("/usr/bin/time", ["-f", "%e %M %U %S", "-o", timeFile, ...command], { stdio: ["ignore", "ignore", "inherit"] });
const ticks = new Map();
let pid = null;
const timer = setInterval(() => {
  try {
    pid ??= Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(" ")[0]) || null;
    if (pid === null) return;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks.set(Number(tid), Number(fields[11]) + Number(fields[12]));
    }
  } catch {} // the process or a thread ended between two reads
}, 20);
child.on("exit", (code) => {
  clearInterval(timer);
  if (code !== 0) process.exit(1);
  const [wall, rssKiB, user, sys] = readFileSync(timeFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
  const cpu = [...ticks.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t / 100);
  const sum = (list) => list.reduce((a, b) => a + b, 0);
  const row = [wall, rssKiB / 1024, user + sys, cpu[0] ?? 0, sum(cpu.slice(2, 6)), sum(cpu.slice(6))];
  console.log(row.map((x) => x.toFixed(2)).join(" "));
});
JS
echo "label wall rss_MiB cpu main platform others"
for _ in $(seq 1 "$RUNS"); do
  for spec in "$@"; do
    IFS='|' read -r label options cli <<<"$spec"
    vault=$SCRATCH/$label.suede
    if [ "$STEP" = first ] || [ ! -f "$vault" ]; then
      rm -f "$vault"
      node "$cli" init --kdf-memory 1 --kdf-iterations 1 --kdf-parallelism 1 "$vault" >/dev/null 2>&1
      [ "$STEP" = first ] || node "$cli" backup "$vault" "$DATA" >/dev/null 2>&1
    fi
    case $STEP in
      first | rerun) args=(backup "$vault" "$DATA") ;;
      restore) rm -rf "$SCRATCH/target"; args=(restore --target "$SCRATCH/target" "$vault" latest) ;;
      *) echo "unknown step $STEP" >&2; exit 2 ;;
    esac
    # shellcheck disable=SC2086 # the options are words
    echo "$label $(MALLOC_ARENA_MAX=2 node "$SCRATCH/sample.mjs" "$SCRATCH/time" node --max-semi-space-size=2 $options "$cli" "${args[@]}")" | tee -a "$SCRATCH/runs"
  done
done
rm -rf "$SCRATCH/target"
echo "medians:"
awk '{n[$1]++; for (i = 2; i <= 7; i++) v[$1, n[$1], i] = $i; if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 } }
  END { for (j = 1; j <= k; j++) { l = order[j]; line = l " (" n[l] ")";
    for (i = 2; i <= 7; i++) { m = n[l]; for (a = 1; a <= m; a++) x[a] = v[l, a, i];
      for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (x[b] < x[a]) { t = x[a]; x[a] = x[b]; x[b] = t }
      line = line " " (m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2) }
    print line } }' "$SCRATCH/runs"
