#!/usr/bin/env bash
# CPU seconds (user + sys) of each thread of one suede command, busiest first: the main thread and
# each file worker apart. On a shared machine wall time says little, and the busiest thread bounds
# the wall time an idle machine would show (issue 5: one big file kept one worker busy, one half idle).
# Usage: thread-cpu.sh CLI ARGS...   e.g. thread-cpu.sh dist/cli/main.js backup /tmp/v.suede /tmp/big
# (SUEDE_PASSPHRASE from the environment). Samples /proc every 50 ms, so a thread's last 50 ms may be missed.
set -uo pipefail
CLI=${1:?dist/cli/main.js of the build to measure}; shift
node "$CLI" "$@" >/dev/null & PID=$!
declare -A cpu
while kill -0 "$PID" 2>/dev/null; do
  for stat in /proc/"$PID"/task/*/stat; do
    line=$(cat "$stat" 2>/dev/null) || continue
    tid=${stat#/proc/"$PID"/task/}; tid=${tid%/stat}
    # Fields after the command name: state is 1, utime 12, stime 13 (clock ticks).
    set -- ${line##*) }
    cpu[$tid]=$(( ${12} + ${13} ))
  done
  sleep 0.05
done
wait "$PID" || { echo "command failed" >&2; exit 1; }
ticks=$(getconf CLK_TCK)
for tid in "${!cpu[@]}"; do echo "${cpu[$tid]}"; done | sort -rn | awk -v t="$ticks" '$1 > 0 {printf "%.2f ", $1 / t} END {print ""}'
