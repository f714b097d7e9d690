#!/usr/bin/env bash
# Times re-runs with a WARM page cache (no root needed): one first backup per tool into a base
# vault (repository), then 1% of the regular files appended to (every 100th in depth-first name
# order, as bench/ usrDataset does), then RUNS rounds of "1% changed" (a copy of the base vault
# backs up the changed tree) and "no change" (the same again on top), suede builds and restic
# interleaved round by round so machine load hits them alike. Each suede run goes through the
# bin's shebang options and records its main thread's CPU (/proc at exit). Prints medians of wall,
# CPU (user + sys, all threads), main-thread CPU and peak RSS per tool and step.
# Usage: warm-rerun.sh DATA_DIR [RUNS] [CLI...]   (CLI: dist/cli/main.js of the builds to compare;
# default this tree's). A cheap KDF, so unlocking is not measured; KDF=default measures it as the bench does.
set -euo pipefail
source "$(dirname "$0")/cold-common.sh" "$@"
source "$(dirname "$0")/warm-common.sh"
run() { # tool, step: a fresh copy of the base (changed) or of the changed state (same)
  local from=$SCRATCH/$1.base; [ "$2" = same ] && from=$SCRATCH/$1.changed
  rm -rf "$SCRATCH/$1.run"; cp -a "$from" "$SCRATCH/$1.run"; sync
  if [ "$1" = restic ]; then echo "$(t restic -q -r "$SCRATCH/restic.run" backup "$SCRATCH/data") -" >>"$SCRATCH/$1.$2.times"
  else timed_suede "${1#suede}" "$SCRATCH/$1.run" >>"$SCRATCH/$1.$2.times"; fi
}
for i in "${!CLIS[@]}"; do
  init_cheap "$i" "$SCRATCH/suede$i.base"
  node "${CLIS[$i]}" backup "$SCRATCH/suede$i.base" "$SCRATCH/data" >/dev/null 2>&1
done
restic -q -r "$SCRATCH/restic.base" init >/dev/null; restic -q -r "$SCRATCH/restic.base" backup "$SCRATCH/data" >/dev/null
append_one_percent
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
