#!/usr/bin/env bash
# Times the moved-directories re-run with a WARM page cache, as the quick bench's usr step 4 does:
# a first backup, 1% of the regular files appended to (every 100th in depth-first name order) and
# backed up, then the three big directories moved under moved/ (renamed); RUNS rounds of that
# re-run, each on a fresh copy of the vault, suede builds (and restic, unless NO_RESTIC=1)
# interleaved round by round. Prints medians of wall, CPU (user + sys, all threads), main-thread
# CPU and peak RSS per tool.
# Usage: warm-move.sh DATA_DIR [RUNS] [CLI...]   (CLI: dist/cli/main.js of the builds to compare;
# default this tree's). MOVE="share/doc lib/postgresql lib/git-core" by default. A cheap KDF.
set -euo pipefail
source "$(dirname "$0")/cold-common.sh" "$@"
[ "${NO_RESTIC:-0}" = 1 ] && names=("${names[@]:0:${#CLIS[@]}}")
source "$(dirname "$0")/warm-common.sh"
backup_all() { # every tool backs up the tree as it is now into its base vault
  for i in "${!CLIS[@]}"; do node "${CLIS[$i]}" backup "$SCRATCH/suede$i.base" "$SCRATCH/data" >/dev/null 2>&1; done
  [ "${NO_RESTIC:-0}" = 1 ] || restic -q -r "$SCRATCH/restic.base" backup "$SCRATCH/data" >/dev/null
}
for i in "${!CLIS[@]}"; do init_cheap "$i" "$SCRATCH/suede$i.base"; done
[ "${NO_RESTIC:-0}" = 1 ] || restic -q -r "$SCRATCH/restic.base" init >/dev/null
backup_all
append_one_percent
backup_all
mkdir "$SCRATCH/data/moved"
for rel in ${MOVE:-share/doc lib/postgresql lib/git-core}; do mv "$SCRATCH/data/$rel" "$SCRATCH/data/moved/$(basename "$rel")-renamed"; done
run() { # tool: a fresh copy of its base vault backs up the moved tree
  rm -rf "$SCRATCH/$1.run"; cp -a "$SCRATCH/$1.base" "$SCRATCH/$1.run"; sync
  if [ "$1" = restic ]; then echo "$(t restic -q -r "$SCRATCH/restic.run" backup "$SCRATCH/data") -" >>"$SCRATCH/$1.times"
  else timed_suede "${1#suede}" "$SCRATCH/$1.run" >>"$SCRATCH/$1.times"; fi
}
for round in $(seq "$RUNS"); do for n in "${names[@]}"; do run "$n"; done; done
for i in "${!CLIS[@]}"; do echo "suede$i = ${CLIS[$i]}"; done
for n in "${names[@]}"; do
  f=$SCRATCH/$n.times
  echo "$n moved wall_s=$(cut -d' ' -f1 "$f" | median) cpu_s=$(awk '{print $3 + $4}' "$f" | median) main_cpu_s=$(cut -d' ' -f5 "$f" | median) rss_kb=$(cut -d' ' -f2 "$f" | median) runs=$(wc -l <"$f")"
  [ -z "${VERBOSE:-}" ] || cat "$f"
done
