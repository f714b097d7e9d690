#!/usr/bin/env bash
# Times the big-file steps with a WARM page cache (issue 5): per round and tool, a fresh vault
# (repository), the first backup of V1 (one big file), then a backup of V2 (the same file edited) at
# the same path on top. suede builds, then restic and borg, interleaved round by round so machine
# load hits them alike. Prints medians of wall, CPU (user + sys, all threads) and peak RSS.
# Usage: bigfile-ab.sh V1_FILE V2_FILE [RUNS] [CLI...]  (CLI: dist/cli/main.js of the builds to
# compare; default this tree's). PEERS=0 skips restic and borg, PEERS=only the suede builds. A cheap KDF:
# unlocking is not measured.
set -euo pipefail
V1=${1:?v1 file}; V2=${2:?v2 file}; RUNS=${3:-5}; shift $(( $# >= 3 ? 3 : $# ))
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLIS=("$@"); [ ${#CLIS[@]} -gt 0 ] || CLIS=("$HERE/dist/cli/main.js")
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/suede-bigfile.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
export SUEDE_PASSPHRASE=bench RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$SCRATCH/rcache RESTIC_PROGRESS_FPS=0.016
export BORG_PASSPHRASE=bench BORG_BASE_DIR=$SCRATCH/borgbase
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mkdir "$SCRATCH/src"
use() { ln -f "$1" "$SCRATCH/src/big.bin"; }   # a new inode at the same path, as the bench's rename does
t() { /usr/bin/time -f "%e %U %S %M" -o "$SCRATCH/t" "$@" >/dev/null 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }; cat "$SCRATCH/t"; }
tools=(); [ "${PEERS:-1}" = only ] || for i in "${!CLIS[@]}"; do tools+=("suede$i"); done; [ "${PEERS:-1}" = 0 ] || tools+=(restic borg)
for ((r = 1; r <= RUNS; r++)); do
  for tool in "${tools[@]}"; do
    rm -rf "$SCRATCH/repo" "$SCRATCH/borgbase" "$SCRATCH/rcache"; use "$V1"
    case $tool in
      suede*) cli=${CLIS[${tool#suede}]}
        node "$cli" init --kdf-memory 1 --kdf-iterations 1 --kdf-parallelism 1 "$SCRATCH/repo" >/dev/null
        b() { MALLOC_ARENA_MAX=2 t node --max-semi-space-size=2 --interrupt-budget=270336 "$cli" backup "$SCRATCH/repo" "$SCRATCH/src"; } ;;  # the bin's shebang options
      restic) restic -q -r "$SCRATCH/repo" init >/dev/null; b() { t restic -q -r "$SCRATCH/repo" backup "$SCRATCH/src"; } ;;
      borg) borg init -e repokey-blake2 "$SCRATCH/repo" >/dev/null 2>&1; b() { t borg create "$SCRATCH/repo::$1" "$SCRATCH/src"; } ;;
    esac
    echo "$(b first)" >>"$SCRATCH/$tool.first"; use "$V2"; echo "$(b edit)" >>"$SCRATCH/$tool.edit"
  done
done
printf '%-8s %-6s %8s %8s %8s\n' tool step wall_s cpu_s rss_mib
for tool in "${tools[@]}"; do for step in first edit; do
  f=$SCRATCH/$tool.$step
  printf '%-8s %-6s %8s %8s %8s\n' "$tool" "$step" "$(awk '{print $1}' "$f" | median)" "$(awk '{print $2 + $3}' "$f" | median)" "$(awk '{print int($4 / 1024)}' "$f" | median)"
done; done
