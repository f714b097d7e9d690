#!/usr/bin/env bash
# A/B of restore: restores one vault's newest snapshot with build A and build B (this tree's dist/),
# interleaved A B A B ..., into a fresh directory each run, and prints per build the medians of wall,
# CPU (user + sys), peak RSS, the restore proper (SUEDE_DEBUG's opened → done, without start-up, the
# unlock and the index load) and the main thread's CPU. Usage: restore-ab.sh VAULT [RUNS] [TARGET_BASE]
#   SUEDE_CLI_A  the other build's dist/cli/main.js (required; e.g. /work/main/dist/cli/main.js)
#   RESTIC_REPO  optional restic repository of the same data, restored in the same rounds for reference
# TARGET_BASE on tmpfs (/dev/shm) measures suede itself, and each output is removed after its run.
# Anywhere else (the bench restores to ext4) the outputs stay until the set ends: ext4 without a
# journal skips inodes freed seconds before, so creating files right after deleting a tree of the same
# size costs the kernel far more and dominates every tool's figures (PERFORMANCE.md "Physical floors").
# Passphrases come from SUEDE_PASSPHRASE / RESTIC_PASSWORD.
set -euo pipefail
VAULT=${1:?vault}; RUNS=${2:-5}; BASE=${3:-/dev/shm}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
A=${SUEDE_CLI_A:?set SUEDE_CLI_A}; B=$HERE/dist/cli/main.js
PRELOAD=$HERE/scripts/benchmarks/main-thread-cpu.mjs
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/suede-rab.XXXXXX"); OUT=$(mktemp -d "$BASE/suede-rab-out.XXXXXX")
trap 'rm -rf "$SCRATCH" "$OUT"' EXIT
KEEP=1; [ "$(stat -f -c %T "$OUT")" = tmpfs ] && KEEP=0
export RESTIC_CACHE_DIR=$SCRATCH/rcache
tools="A B"; [ -n "${RESTIC_REPO:-}" ] && tools="A B restic"
for run in $(seq "$RUNS"); do
  for tool in $tools; do
    out=$OUT/$tool-$run; mkdir -p "$out"
    case $tool in
      A) cmd=(node --import "$PRELOAD" "$A" restore "$VAULT" latest --target "$out");;
      B) cmd=(node --import "$PRELOAD" "$B" restore "$VAULT" latest --target "$out");;
      restic) cmd=(restic -q -r "$RESTIC_REPO" restore latest --target "$out");;
    esac
    SUEDE_DEBUG=1 SUEDE_MAIN_CPU_OUT=$SCRATCH/$tool.main /usr/bin/time -f "%e %M %U %S" -o "$SCRATCH/t" "${cmd[@]}" >/dev/null 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }
    cat "$SCRATCH/t" >>"$SCRATCH/$tool"
    # The debug timeline's "opened N, done M" (ms since node started); restic has none.
    sed -n 's/.*opened \([0-9]*\), done \([0-9]*\).*/\1 \2/p' "$SCRATCH/err" | awk '{print ($2 - $1) / 1000}' >>"$SCRATCH/$tool.od"
    [ "$KEEP" = 1 ] || rm -rf "$out"
  done
done
median() { sort -n | awk 'NF {a[++n]=$1} END {print n ? a[int((n+1)/2)] : "-"}'; }
for tool in $tools; do
  echo "$tool restore_s=$(cut -d' ' -f1 "$SCRATCH/$tool" | median) restore_cpu_s=$(awk '{print $3 + $4}' "$SCRATCH/$tool" | median) restore_rss_kb=$(cut -d' ' -f2 "$SCRATCH/$tool" | median) opened_done_s=$(median <"$SCRATCH/$tool.od") main_cpu_s=$(cat "$SCRATCH/$tool.main" 2>/dev/null | median)"
done
