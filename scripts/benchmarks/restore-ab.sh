#!/usr/bin/env bash
# A/B of restore: restores one vault's newest snapshot with build A and build B (this tree's dist/),
# interleaved A B A B ..., into a fresh directory each run, and prints median wall, CPU (user + sys)
# and peak RSS per build. Usage: restore-ab.sh VAULT [RUNS] [TARGET_BASE]
#   SUEDE_CLI_A  the other build's dist/cli/main.js (required; e.g. /work/main/dist/cli/main.js)
#   RESTIC_REPO  optional restic repository of the same data, restored in the same rounds for reference
# TARGET_BASE on tmpfs (/dev/shm) measures suede itself; on ext4 without a journal, creating files
# where many were just deleted costs the kernel far more (recently deleted inodes are skipped) and
# dominates every tool's figures. Passphrases come from SUEDE_PASSPHRASE / RESTIC_PASSWORD.
set -euo pipefail
VAULT=${1:?vault}; RUNS=${2:-5}; BASE=${3:-/dev/shm}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
A=${SUEDE_CLI_A:?set SUEDE_CLI_A}; B=$HERE/dist/cli/main.js
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/suede-rab.XXXXXX"); OUT=$(mktemp -d "$BASE/suede-rab-out.XXXXXX")
trap 'rm -rf "$SCRATCH" "$OUT"' EXIT
export RESTIC_CACHE_DIR=$SCRATCH/rcache
tools="A B"; [ -n "${RESTIC_REPO:-}" ] && tools="A B restic"
for run in $(seq "$RUNS"); do
  for tool in $tools; do
    out=$OUT/$tool-$run; mkdir -p "$out"
    case $tool in
      A) cmd=(node "$A" restore "$VAULT" latest --target "$out");;
      B) cmd=(node "$B" restore "$VAULT" latest --target "$out");;
      restic) cmd=(restic -q -r "$RESTIC_REPO" restore latest --target "$out");;
    esac
    /usr/bin/time -f "%e %M %U %S" -o "$SCRATCH/t" "${cmd[@]}" >/dev/null 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }
    cat "$SCRATCH/t" >>"$SCRATCH/$tool"
    rm -rf "$out"
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for tool in $tools; do
  echo "$tool restore_s=$(cut -d' ' -f1 "$SCRATCH/$tool" | median) restore_cpu_s=$(awk '{print $3 + $4}' "$SCRATCH/$tool" | median) restore_rss_kb=$(cut -d' ' -f2 "$SCRATCH/$tool" | median)"
done
