#!/usr/bin/env bash
# 2-rank vs 1-rank step time of kdprune pretrain at the same per-rank batch (weak scaling on one
# node; target ≤ 1.1x): the quickstart model, batch 16 per rank, bf16, 1 thread per rank bound to
# its own core. Prints both step times and the ratio.
#   bench/scaling.sh [timed_steps=20] [warmup_steps=5] [precision=bf16]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
steps="${1:-20}"; warm="${2:-5}"; prec="${3:-bf16}"
bin="${KD_BUILD_DIR:-$root/build}/kdprune"
work="${KD_BENCH_DIR:-$root/build/bench-compare}"
py=/usr/bin/python3
if ! ls "$work"/shards/*.hdf5 > /dev/null 2>&1; then
  $py bench/make_synthetic_shards.py --out "$work/shards" --shards 2 --rows 1000 --max-seq 128 --max-pred 20
fi
root_flag=$([ "$(id -u)" = 0 ] && echo --allow-run-as-root || true)
step_time() {  # ranks -> median seconds per step over the timed windows
  local n="$1" run="$work/scaling-$1"
  rm -rf "$run"
  OMP_NUM_THREADS=1 mpirun -np "$n" $root_flag --bind-to core --map-by core -x OMP_NUM_THREADS \
    "$bin" pretrain --config configs/quickstart.yaml --set "data.train=[\"$work/shards/*.hdf5\"]" \
    --set data.batch_size=16 --set run_dir="$run" --set train.steps=$((steps + warm)) \
    --set train.log_every="$warm" --set train.precision="$prec" --set train.checkpoint_every=0 \
    --set train.schedule.warmup_steps=2 --set resume=never > "$run.log" 2>&1 || { cat "$run.log" >&2; return 1; }
  # tokens_per_s covers all ranks: per-rank step time = n * B * T / tokens_per_s
  $py -c '
import json,sys,statistics
n=int(sys.argv[2]); w=[json.loads(l)["tokens_per_s"] for l in open(sys.argv[1])][1:]
print(statistics.median(n*16*128/x for x in w))' "$run/metrics.jsonl" "$n"
}
t1=$(step_time 1)
t2=$(step_time 2)
$py -c "import sys; t1,t2=map(float,sys.argv[1:]); print(f'step time ($prec, batch 16/rank): 1 rank {t1*1000:.0f} ms, 2 ranks {t2*1000:.0f} ms, ratio {t2/t1:.2f}x')" "$t1" "$t2"
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"
