# Shared helpers for the end-to-end test scripts (sourced).
set -euo pipefail
KD_SOURCE_DIR="${KD_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
KD_MPIRUN="${KD_MPIRUN:-mpirun --oversubscribe --bind-to none $([ "$(id -u)" = 0 ] && echo --allow-run-as-root)}"
export OMP_NUM_THREADS=1

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# Loss of each step from a metrics.jsonl, one "step loss" line per step (full precision).
losses() { /usr/bin/python3 -c '
import json,sys
for l in open(sys.argv[1]):
    j=json.loads(l); print(j["step"], repr(j["loss"]))' "$1"; }
