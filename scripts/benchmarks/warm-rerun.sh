#!/usr/bin/env bash
# Times re-runs with a WARM page cache (no root needed): one first backup per tool into a base
# vault (repository), then 1% of the regular files appended to (every 100th in depth-first name
# order, as bench/ usrDataset does), then RUNS rounds of "1% changed" (a copy of the base vault
# backs up the changed tree) and "no change" (the same again on top), suede builds and restic
# interleaved round by round so machine load hits them alike. Each suede run goes through the
# bin's shebang options and records its main thread's CPU (/proc at exit). Prints medians of wall,
# CPU (user + sys, all threads), main-thread CPU and peak RSS per tool and step.
# Usage: warm-rerun.sh DATA_DIR [RUNS] [CLI...]   (CLI: dist/cli/main.js of the builds to compare;
# default this tree's). A cheap KDF, so unlocking is not measured.
set -euo pipefail
source "$(dirname "$0")/cold-common.sh" "$@"
cp -a "$DATA" "$SCRATCH/data"   # the 1% step changes files: never the caller's
cat >"$SCRATCH/threads.mjs" <<'EOF'
import { appendFileSync, readFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
// The main thread's user + sys seconds (field 14 and 15 of /proc/self/task/PID/stat, in ticks).
if (isMainThread) process.on("exit", () => {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  appendFileSync(process.env.MAIN_CPU_OUT, `${(Number(fields[11]) + Number(fields[12])) / 100}\n`);
});
EOF
t() { /usr/bin/time -f "%e %M %U %S" -o "$SCRATCH/t" "$@" >/dev/null 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }; cat "$SCRATCH/t"; }
suede() { # index, vault, then: MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 as the shebang says
  MALLOC_ARENA_MAX=2 MAIN_CPU_OUT="$SCRATCH/main" t node --max-semi-space-size=2 --import "$SCRATCH/threads.mjs" "${CLIS[$1]}" backup "$2" "$SCRATCH/data"
}
run() { # tool, step: a fresh copy of the base (changed) or of the changed state (same)
  local from=$SCRATCH/$1.base; [ "$2" = same ] && from=$SCRATCH/$1.changed
  rm -rf "$SCRATCH/$1.run"; cp -a "$from" "$SCRATCH/$1.run"; sync
  : >"$SCRATCH/main"
  if [ "$1" = restic ]; then echo "$(t restic -q -r "$SCRATCH/restic.run" backup "$SCRATCH/data") -" >>"$SCRATCH/$1.$2.times"
  else echo "$(suede "${1#suede}" "$SCRATCH/$1.run") $(cat "$SCRATCH/main")" >>"$SCRATCH/$1.$2.times"; fi
}
for i in "${!CLIS[@]}"; do
  node "${CLIS[$i]}" init --kdf-memory 1 --kdf-iterations 1 --kdf-parallelism 1 "$SCRATCH/suede$i.base" >/dev/null 2>&1
  node "${CLIS[$i]}" backup "$SCRATCH/suede$i.base" "$SCRATCH/data" >/dev/null 2>&1
done
restic -q -r "$SCRATCH/restic.base" init >/dev/null; restic -q -r "$SCRATCH/restic.base" backup "$SCRATCH/data" >/dev/null
n=0; while IFS= read -r -d '' f; do [ $((n++ % 100)) -eq 50 ] && echo "suede-bench change $n" >>"$f"; done < <(find "$SCRATCH/data" -type f -print0 | LC_ALL=C sort -z)
for i in "${!CLIS[@]}"; do cp -a "$SCRATCH/suede$i.base" "$SCRATCH/suede$i.changed"; node "${CLIS[$i]}" backup "$SCRATCH/suede$i.changed" "$SCRATCH/data" >/dev/null 2>&1; done
cp -a "$SCRATCH/restic.base" "$SCRATCH/restic.changed"; restic -q -r "$SCRATCH/restic.changed" backup "$SCRATCH/data" >/dev/null
for round in $(seq "$RUNS"); do for step in changed same; do for n in "${names[@]}"; do run "$n" "$step"; done; done; done
for i in "${!CLIS[@]}"; do echo "suede$i = ${CLIS[$i]}"; done
for n in "${names[@]}"; do
  for step in changed same; do
    f=$SCRATCH/$n.$step.times
    echo "$n $step wall_s=$(cut -d' ' -f1 "$f" | median) cpu_s=$(awk '{print $3 + $4}' "$f" | median) main_cpu_s=$(cut -d' ' -f5 "$f" | median) rss_kb=$(cut -d' ' -f2 "$f" | median) runs=$(wc -l <"$f")"
  done
done
