# Shared by bench/*.sh (sourced): synthetic shards and a timed `kdprune pretrain` run of the
# quickstart model, reporting steady-state throughput from metrics.jsonl.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${KD_BUILD_DIR:-$root/build}/kdprune"
work="${KD_BENCH_DIR:-$root/build/bench-compare}"
py=/usr/bin/python3
root_flag=$([ "$(id -u)" = 0 ] && echo --allow-run-as-root || true)

# Random NVIDIA-layout shards (T=128, 20 predictions), made once.
ensure_bench_shards() {
  ls "$work"/shards/*.hdf5 > /dev/null 2>&1 ||
    $py "$root/bench/make_synthetic_shards.py" --out "$work/shards" --shards 2 --rows 1000 \
      --max-seq 128 --max-pred 20 > /dev/null
}

# kdprune_tokens_per_s RANKS PRECISION STEPS WARMUP NAME [--set ...]: trains the quickstart model
# (batch 16 per rank, one thread per rank bound to a core) for WARMUP + STEPS steps and prints
# the tokens/s of all ranks over the timed windows (the first log window is the warm-up; equal
# tokens per window, so the rate is the harmonic mean of the window rates).
kdprune_tokens_per_s() {
  local ranks="$1" prec="$2" steps="$3" warm="$4" name="$5"
  shift 5
  local run="$work/$name"
  rm -rf "$run"
  (cd "$root" && OMP_NUM_THREADS=1 mpirun -np "$ranks" $root_flag --bind-to core --map-by core \
    -x OMP_NUM_THREADS "$bin" pretrain --config configs/quickstart.yaml \
    --set "data.train=[\"$work/shards/*.hdf5\"]" --set data.batch_size=16 --set run_dir="$run" \
    --set train.steps=$((steps + warm)) --set train.log_every="$warm" \
    --set train.precision="$prec" --set train.checkpoint_every=0 \
    --set train.schedule.warmup_steps=2 --set resume=never "$@") > "$run.log" 2>&1 ||
    { cat "$run.log" >&2; return 1; }
  steady_tokens_per_s "$run/metrics.jsonl"
}

# steady_tokens_per_s METRICS.jsonl: tokens/s over the log windows after the first (the warm-up);
# equal tokens per window, so the harmonic mean of the window rates.
steady_tokens_per_s() {
  $py -c '
import json,sys
w=[json.loads(l)["tokens_per_s"] for l in open(sys.argv[1])][1:]
print(len(w)/sum(1/x for x in w))' "$1"
}
