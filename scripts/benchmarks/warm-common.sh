# Shared by warm-rerun.sh and warm-move.sh (sourced after cold-common.sh): a copy of the data the
# steps may change, timing with /usr/bin/time, a suede backup run as the bin's shebang runs it with
# its main thread's CPU recorded, and the 1% change the quick bench's usr step 3 makes.
cp -a "$DATA" "$SCRATCH/data"   # the steps change the tree: never the caller's
cat >"$SCRATCH/threads.mjs" <<'JS'
import { appendFileSync, readFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
// The main thread's user + sys seconds (field 14 and 15 of /proc/self/task/PID/stat, in ticks).
if (isMainThread) process.on("exit", () => {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  appendFileSync(process.env.MAIN_CPU_OUT, `${(Number(fields[11]) + Number(fields[12])) / 100}\n`);
});
JS
t() { /usr/bin/time -f "%e %M %U %S" -o "$SCRATCH/t" "$@" >/dev/null 2>"$SCRATCH/err" || { cat "$SCRATCH/err" >&2; exit 1; }; cat "$SCRATCH/t"; }
timed_suede() { # CLI index, vault: "wall rss user sys main_cpu" of a backup of the data, options as the shebang's
  : >"$SCRATCH/main"
  echo "$(MALLOC_ARENA_MAX=2 MAIN_CPU_OUT="$SCRATCH/main" t node --max-semi-space-size=2 --interrupt-budget=270336 --import "$SCRATCH/threads.mjs" "${CLIS[$1]}" backup "$2" "$SCRATCH/data") $(cat "$SCRATCH/main")"
}
append_one_percent() { # every 100th regular file in depth-first name order, as bench/ usrDataset does
  local n=0 f
  while IFS= read -r -d '' f; do [ $((n++ % 100)) -eq 50 ] && echo "suede-bench change $n" >>"$f"; done < <(find "$SCRATCH/data" -type f -print0 | LC_ALL=C sort -z)
  return 0 # the loop's status is its last test's, which set -e would take for a failure
}
init_cheap() { # CLI index, vault: a vault with a cheap KDF, so unlocking is not what is measured
  # KDF=default: what `init` calibrates to on an idle 2-core machine (~0.5 s), the same for every build
  if [ "${KDF:-cheap}" = default ]; then node "${CLIS[$1]}" init --kdf-memory 64 --kdf-iterations 20 --kdf-parallelism 4 "$2" >/dev/null 2>&1; return; fi
  node "${CLIS[$1]}" init --kdf-memory 1 --kdf-iterations 1 --kdf-parallelism 1 "$2" >/dev/null 2>&1
}
