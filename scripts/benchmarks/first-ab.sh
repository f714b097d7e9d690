#!/usr/bin/env bash
# First backups of DATA by two builds, interleaved A B A B (warm; empty vault with a cheap KDF each
# time), as the bin's shebang runs them. One line per run: round, build, wall s, peak RSS KiB,
# user s, sys s, main-thread CPU s, vault bytes.
# Usage: first-ab.sh A/dist/cli/main.js B/dist/cli/main.js DATA [ROUNDS=5]
set -euo pipefail
CLIS=([1]="${1:?A main.js}" [2]="${2:?B main.js}"); DATA=${3:?data tree}; ROUNDS=${4:-5}
S=$(mktemp -d /tmp/first-ab-XXXXXX); trap 'rm -rf "$S"' EXIT
export SUEDE_PASSPHRASE=bench
cat >"$S/threads.mjs" <<'JS'
import { appendFileSync, readFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
// The main thread's user + sys seconds (fields 14 and 15 of /proc/self/task/PID/stat, in ticks).
if (isMainThread) process.on("exit", () => {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  appendFileSync(process.env.MAIN_CPU_OUT, `${(Number(f[11]) + Number(f[12])) / 100}\n`);
});
JS
for r in $(seq "$ROUNDS"); do for b in 1 2; do
  rm -f "$S/v.suede"; node "${CLIS[$b]}" init --kdf-memory 1 --kdf-iterations 1 --kdf-parallelism 1 "$S/v.suede" >/dev/null 2>&1
  : >"$S/main"
  MALLOC_ARENA_MAX=2 MAIN_CPU_OUT="$S/main" /usr/bin/time -f "%e %M %U %S" -o "$S/t" node --max-semi-space-size=2 --interrupt-budget=270336 \
    --import "$S/threads.mjs" "${CLIS[$b]}" backup "$S/v.suede" "$DATA" >/dev/null 2>"$S/err" || { cat "$S/err" >&2; exit 1; }
  echo "$r $([ $b = 1 ] && echo A || echo B) $(cat "$S/t") $(cat "$S/main") $(stat -c %s "$S/v.suede")"
done; done
