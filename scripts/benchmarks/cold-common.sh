# Shared by cold-first.sh, cold-rerun.sh, warm-rerun.sh and warm-move.sh (sourced): their arguments, a scratch dir removed on
# exit, the tools' environment, and a median of numbers on stdin.
# Usage of the scripts: SCRIPT DATA_DIR [RUNS] [CLI...] (CLI: dist/cli/main.js of the builds to
# compare; default this tree's).
DATA=${1:?data dir}; RUNS=${2:-5}; shift $(( $# >= 2 ? 2 : $# ))
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLIS=("$@"); [ ${#CLIS[@]} -gt 0 ] || CLIS=("$HERE/dist/cli/main.js")
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/suede-cold.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
export SUEDE_PASSPHRASE=bench RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$SCRATCH/rcache RESTIC_PROGRESS_FPS=0.016
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
names=(); for i in "${!CLIS[@]}"; do names+=("suede$i"); done; names+=(restic)
