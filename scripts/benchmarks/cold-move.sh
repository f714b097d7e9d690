#!/usr/bin/env bash
# Cold A/B of the quick bench's usr moved step with SUEDE_DEBUG=1's timeline (needs root: drops the
# page cache before every command). One vault for all builds (init by the first CLI, default KDF as
# `init` calibrates it), given a first backup of a copy of DATA, bench/'s 1% append and its backup;
# then share/doc, lib/postgresql and lib/git-core moved under moved/ (MOVE overrides) and RUNS rounds
# of that re-run, each on a fresh copy of the base vault, builds interleaved within a round. Prints
# per build the medians of wall, CPU-s (user + sys), main-thread CPU-s, peak RSS and own (--json
# durationMs), then the phases between timeline marks (ms, median and range), "inode table" included.
# Usage: cold-move.sh DATA_DIR [RUNS] [CLI...]
set -euo pipefail
source "$(dirname "$0")/cold-common.sh" "$@"
names=("${names[@]:0:${#CLIS[@]}}") # suede builds only: restic's moved step is in the quick bench
source "$(dirname "$0")/warm-common.sh"
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
node "${CLIS[0]}" init "$SCRATCH/base.vault" >/dev/null 2>&1
node "${CLIS[0]}" backup "$SCRATCH/base.vault" "$SCRATCH/data" >/dev/null
append_one_percent
node "${CLIS[0]}" backup "$SCRATCH/base.vault" "$SCRATCH/data" >/dev/null
mkdir "$SCRATCH/data/moved"
for rel in ${MOVE:-share/doc lib/postgresql lib/git-core}; do mv "$SCRATCH/data/$rel" "$SCRATCH/data/moved/$(basename "$rel")-renamed"; done
run() { # build: one cold backup; appends "build load wall cpu rss_mib own main | timeline" to runs
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  cp "$SCRATCH/base.vault" "$SCRATCH/run.vault"; : >"$SCRATCH/main"; drop
  SUEDE_DEBUG=1 MAIN_CPU_OUT="$SCRATCH/main" /usr/bin/time -f "%e %U %S %M" -o "$SCRATCH/t" env MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --interrupt-budget=270336 \
    --import "$SCRATCH/threads.mjs" "${CLIS[${1#suede}]}" backup "$SCRATCH/run.vault" "$SCRATCH/data" --json >"$SCRATCH/out" 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }
  read -r wall user sys rss <"$SCRATCH/t"
  local own timeline
  own=$(grep -o '"durationMs":[0-9]*' "$SCRATCH/out" | cut -d: -f2)
  timeline=$(grep -o 'timeline, ms since node started: .*' "$SCRATCH/err" | cut -d: -f2-)
  echo "$1 $load $wall $(echo "$user + $sys" | bc) $((rss / 1024)) $own $(cat "$SCRATCH/main") |$timeline" >>"$SCRATCH/runs"
}
for round in $(seq "$RUNS"); do for n in "${names[@]}"; do run "$n"; done; done
for i in "${!CLIS[@]}"; do echo "suede$i = ${CLIS[$i]}"; done
for n in "${names[@]}"; do
  rows=$(grep "^$n " "$SCRATCH/runs")
  col() { echo "$rows" | cut -d' ' -f"$1" | median; }
  echo "$n moved wall_s=$(col 3) cpu_s=$(col 4) rss_mib=$(col 5) own_ms=$(col 6) main_cpu_s=$(col 7) load=$(echo "$rows" | cut -d' ' -f2 | sort -n | sed -n '1p;$p' | paste -sd-) runs=$(echo "$rows" | wc -l)"
  [ -z "${VERBOSE:-}" ] || echo "$rows"
done
node "$(dirname "$0")/timeline-phases.mjs" "$SCRATCH/runs" 1
