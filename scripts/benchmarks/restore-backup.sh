#!/usr/bin/env bash
# Times first backup and restore of one directory with suede (this tree's dist/), restic and borg,
# N runs each, and prints the median wall and CPU (user + sys) time per step. Usage: restore-backup.sh DATA_DIR [RUNS] [TOOLS]
# Private scratch under $TMPDIR; page cache warm (all tools read the same cached data).
set -euo pipefail
DATA=${1:?data dir}; RUNS=${2:-5}; TOOLS=${3:-"suede restic borg"}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
CLI=${SUEDE_CLI:-$HERE/dist/cli/main.js}  # another build to compare against
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/suede-rb.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
export SUEDE_PASSPHRASE=bench RESTIC_PASSWORD=bench BORG_PASSPHRASE=bench RESTIC_CACHE_DIR=$SCRATCH/rcache BORG_BASE_DIR=$SCRATCH/bbase RESTIC_PROGRESS_FPS=0.016
t() { /usr/bin/time -f "%e %M %U %S" -o "$SCRATCH/t" "$@" >/dev/null 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }; cat "$SCRATCH/t"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for tool in $TOOLS; do
  : >"$SCRATCH/b"; : >"$SCRATCH/r"; size=0
  for run in $(seq "$RUNS"); do
    repo=$SCRATCH/repo; rm -rf "$repo" "$SCRATCH/out" "$SCRATCH/rcache" "$SCRATCH/bbase"; mkdir -p "$SCRATCH/out"
    case $tool in
      suede) node "$CLI" init "$repo.suede" >/dev/null
             t node "$CLI" backup "$repo.suede" "$DATA" >>"$SCRATCH/b"
             size=$(du -sb "$repo.suede" | cut -f1)
             t node "$CLI" restore "$repo.suede" latest --target "$SCRATCH/out" >>"$SCRATCH/r"; rm -f "$repo.suede";;
      restic) restic -q -r "$repo" init >/dev/null
             t restic -q -r "$repo" backup "$DATA" >>"$SCRATCH/b"; size=$(du -sb "$repo" | cut -f1)
             t restic -q -r "$repo" restore latest --target "$SCRATCH/out" >>"$SCRATCH/r";;
      borg)  borg init -e repokey-blake2 "$repo" >/dev/null 2>&1
             t borg create "$repo::s1" "$DATA" >>"$SCRATCH/b"; size=$(du -sb "$repo" | cut -f1)
             (cd "$SCRATCH/out" && t borg extract "$repo::s1") >>"$SCRATCH/r";;
    esac
    [ "$run" = 1 ] && { diff -rq --no-dereference "$DATA" "$SCRATCH/out$DATA" >/dev/null || echo "$tool: RESTORE DIFFERS" >&2; }
  done
  cpu() { awk '{print $3 + $4}' "$1" | median; }
  echo "$tool backup_s=$(cut -d' ' -f1 "$SCRATCH/b" | median) backup_cpu_s=$(cpu "$SCRATCH/b") restore_s=$(cut -d' ' -f1 "$SCRATCH/r" | median) restore_cpu_s=$(cpu "$SCRATCH/r") repo_bytes=$size backup_rss_kb=$(cut -d' ' -f2 "$SCRATCH/b" | median) restore_rss_kb=$(cut -d' ' -f2 "$SCRATCH/r" | median)"
done
