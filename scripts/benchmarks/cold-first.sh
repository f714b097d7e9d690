#!/usr/bin/env bash
# Times first backups with a COLD page cache (caches dropped before every command; needs root):
# RUNS rounds, the given suede builds and restic interleaved round by round so machine load hits
# them alike; each run starts from an empty vault / repository; suede runs with its bin's shebang
# options. Prints median wall and CPU (user + sys) seconds and peak RSS per tool. The suede vaults use a test KDF: unlock is not timed.
# Usage: cold-first.sh DATA_DIR [RUNS] [CLI...]   (CLI: dist/cli/main.js of the builds to compare;
# default this tree's).
set -euo pipefail
source "$(dirname "$0")/cold-common.sh" "$@"
for round in $(seq "$RUNS"); do
  for n in "${names[@]}"; do
    rm -rf "$SCRATCH/repo" "$SCRATCH/rcache"
    if [ "$n" = restic ]; then restic -q -r "$SCRATCH/repo" init >/dev/null; cmd=(restic -q -r "$SCRATCH/repo" backup "$DATA")
    else node "${CLIS[${n#suede}]}" init "$SCRATCH/repo" --kdf-memory 1 --kdf-iterations 1 --kdf-parallelism 1 >/dev/null 2>&1
      # As the installed bin runs (its shebang's environment and node option).
      cmd=(env MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 "${CLIS[${n#suede}]}" backup "$SCRATCH/repo" "$DATA"); fi
    sync; echo 3 >/proc/sys/vm/drop_caches
    /usr/bin/time -f "%e %M %U %S" -o "$SCRATCH/t" "${cmd[@]}" >/dev/null 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }
    cat "$SCRATCH/t" >>"$SCRATCH/$n"
  done
done
for i in "${!CLIS[@]}"; do echo "suede$i = ${CLIS[$i]}"; done
for n in "${names[@]}"; do
  f=$SCRATCH/$n
  echo "$n first wall_s=$(cut -d' ' -f1 "$f" | median) cpu_s=$(awk '{print $3 + $4}' "$f" | median) rss_kb=$(cut -d' ' -f2 "$f" | median) runs=$(wc -l <"$f")"
done
