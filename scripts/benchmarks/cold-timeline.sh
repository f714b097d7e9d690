#!/usr/bin/env bash
# Cold A/B of the usr re-runs with SUEDE_DEBUG=1's timeline (needs root: drops the page cache before
# every command). One vault for all builds (init by the first CLI, its KDF calibrated as `init` does)
# and one restic repo, both given a first backup of a copy of DATA; then RUNS rounds of the
# no-change re-run, then bench/'s 1% append and RUNS rounds of that re-run. Every run starts from a
# fresh copy of the base vault (repo), so each sees the same parent; builds and restic interleave
# within a round. Prints per tool and step the medians of wall, CPU-s (user + sys), peak RSS, own
# (--json durationMs) and directories listed ahead, then each build's phases (ms, median and range).
# Usage: cold-timeline.sh DATA_DIR [RUNS] [CLI...]   (NO_RESTIC=1 leaves restic out)
set -euo pipefail
source "$(dirname "$0")/cold-common.sh" "$@"
[ "${NO_RESTIC:-0}" = 1 ] && names=("${names[@]:0:${#CLIS[@]}}")
source "$(dirname "$0")/warm-common.sh"
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
node "${CLIS[0]}" init "$SCRATCH/base.vault" >/dev/null 2>&1
node "${CLIS[0]}" backup "$SCRATCH/base.vault" "$SCRATCH/data" >/dev/null
if [ "${NO_RESTIC:-0}" != 1 ]; then restic -q -r "$SCRATCH/restic.base" init >/dev/null; restic -q -r "$SCRATCH/restic.base" backup "$SCRATCH/data" >/dev/null; fi
run() { # tool, step: one cold backup; appends "step tool load wall cpu rss_mib own ahead | timeline" to runs
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$1" = restic ]; then
    rm -rf "$SCRATCH/restic.run"; cp -a "$SCRATCH/restic.base" "$SCRATCH/restic.run"; drop
    /usr/bin/time -f "%e %U %S %M" -o "$SCRATCH/t" restic -q -r "$SCRATCH/restic.run" backup "$SCRATCH/data" >/dev/null
    read -r wall user sys rss <"$SCRATCH/t"
    echo "$2 $1 $load $wall $(echo "$user + $sys" | bc) $((rss / 1024)) - - |" >>"$SCRATCH/runs"; return
  fi
  cp "$SCRATCH/base.vault" "$SCRATCH/run.vault"; drop
  SUEDE_DEBUG=1 /usr/bin/time -f "%e %U %S %M" -o "$SCRATCH/t" env MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --interrupt-budget=270336 \
    "${CLIS[${1#suede}]}" backup "$SCRATCH/run.vault" "$SCRATCH/data" --json >"$SCRATCH/out" 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }
  read -r wall user sys rss <"$SCRATCH/t"
  local own ahead timeline
  own=$(grep -o '"durationMs":[0-9]*' "$SCRATCH/out" | cut -d: -f2)
  ahead=$(grep -o 'during the unlock: [0-9]*' "$SCRATCH/err" | grep -o '[0-9]*$' || echo 0)
  timeline=$(grep -o 'timeline, ms since node started: .*' "$SCRATCH/err" | cut -d: -f2-)
  echo "$2 $1 $load $wall $(echo "$user + $sys" | bc) $((rss / 1024)) $own $ahead |$timeline" >>"$SCRATCH/runs"
}
for round in $(seq "$RUNS"); do for n in "${names[@]}"; do run "$n" same; done; done
append_one_percent
for round in $(seq "$RUNS"); do for n in "${names[@]}"; do run "$n" changed; done; done
for i in "${!CLIS[@]}"; do echo "suede$i = ${CLIS[$i]}"; done
for step in same changed; do for n in "${names[@]}"; do
  rows=$(grep "^$step $n " "$SCRATCH/runs")
  col() { echo "$rows" | cut -d' ' -f"$1" | grep -v -- - | median; }
  echo "$n $step wall_s=$(col 4) cpu_s=$(col 5) rss_mib=$(col 6) own_ms=$(col 7) listed_ahead=$(col 8) load=$(echo "$rows" | cut -d' ' -f3 | sort -n | sed -n '1p;$p' | paste -sd-) runs=$(echo "$rows" | wc -l)"
done; done
# Phases: the gaps between the timeline's marks (node start -> cli, ..., closed -> the wall's end).
node "$(dirname "$0")/timeline-phases.mjs" "$SCRATCH/runs" 2
