#!/usr/bin/env bash
# Times re-runs of a backup with a COLD page cache (caches dropped before every command; needs root):
# one first backup per tool, then RUNS rounds of "no change" and "1% changed" re-runs, suede builds
# and restic interleaved round by round so machine load hits them alike. Prints the median wall and
# CPU (user + sys) seconds and peak RSS per tool and step.
# Usage: cold-rerun.sh DATA_DIR [RUNS] [CLI...]   (CLI: dist/cli/main.js of the builds to compare;
# default this tree's). The 1% step rewrites 1 in 100 regular files' first bytes in a private copy.
set -euo pipefail
source "$(dirname "$0")/cold-common.sh" "$@"
cp -a "$DATA" "$SCRATCH/data"   # the 1% step changes files: never the caller's
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
t() { drop; /usr/bin/time -f "%e %M %U %S" -o "$SCRATCH/t" "$@" >/dev/null 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }; cat "$SCRATCH/t"; }
change_one_percent() { find "$SCRATCH/data" -type f -size +0 | awk -v r="$1" 'NR % 100 == r % 100' | while read -r f; do printf 'x%s' "$1" | dd of="$f" conv=notrunc status=none; done; }
run() { # tool index, step
  if [ "$1" = restic ]; then t restic -q -r "$SCRATCH/restic" backup "$SCRATCH/data" >>"$SCRATCH/$1.$2"
  else t node "${CLIS[${1#suede}]}" backup "$SCRATCH/$1.vault" "$SCRATCH/data" >>"$SCRATCH/$1.$2"; fi
}
for i in "${!CLIS[@]}"; do node "${CLIS[$i]}" init "$SCRATCH/suede$i.vault" >/dev/null 2>&1; run "suede$i" first; done
restic -q -r "$SCRATCH/restic" init >/dev/null; run restic first
for round in $(seq "$RUNS"); do
  for n in "${names[@]}"; do run "$n" same; done
  change_one_percent "$round"
  for n in "${names[@]}"; do run "$n" changed; done
done
for i in "${!CLIS[@]}"; do echo "suede$i = ${CLIS[$i]}"; done
for n in "${names[@]}"; do
  for step in same changed; do
    f=$SCRATCH/$n.$step
    echo "$n $step wall_s=$(cut -d' ' -f1 "$f" | median) cpu_s=$(awk '{print $3 + $4}' "$f" | median) rss_kb=$(cut -d' ' -f2 "$f" | median) runs=$(wc -l <"$f")"
  done
done
