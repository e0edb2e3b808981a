#!/usr/bin/env bash
# kdprune pretrain vs the PyTorch DDP (gloo) peer (bench/pytorch_ddp_pretrain.py, Debian's
# python3-torch): same model (H=256 L=4 A=4 F=1024 V=30522), same shards (T=128, P=20), batch
# 16 per rank, 2 ranks x 1 thread bound to a core each, fp32 and bf16, in one run. Prints the
# throughput ratio per precision and the bf16/fp32 speed-up of each.
#   bench/compare_pytorch.sh [timed_steps=20] [warmup_steps=5]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
steps="${1:-20}"; warm="${2:-5}"
bin="${KD_BUILD_DIR:-$root/build}/kdprune"
work="${KD_BENCH_DIR:-$root/build/bench-compare}"
py=/usr/bin/python3
mkdir -p "$work"
if ! ls "$work"/shards/*.hdf5 > /dev/null 2>&1; then
  $py bench/make_synthetic_shards.py --out "$work/shards" --shards 2 --rows 1000 --max-seq 128 --max-pred 20
fi
root_flag=$([ "$(id -u)" = 0 ] && echo --allow-run-as-root || true)
model=(--set model.hidden_size=256 --set model.num_layers=4 --set model.num_heads=4
       --set model.intermediate_size=1024 --set model.max_position_embeddings=128)

kdprune_tps() {  # precision -> tokens/s over the timed windows (after warm-up)
  local prec="$1" run="$work/kdprune-$1"
  rm -rf "$run"
  OMP_NUM_THREADS=1 mpirun -np 2 $root_flag --bind-to core --map-by core -x OMP_NUM_THREADS \
    "$bin" pretrain --config configs/quickstart.yaml "${model[@]}" \
    --set "data.train=[\"$work/shards/*.hdf5\"]" --set data.batch_size=16 --set run_dir="$run" \
    --set train.steps=$((steps + warm)) --set train.log_every="$warm" --set train.precision="$prec" \
    --set train.checkpoint_every=0 --set train.clip_norm=0 --set resume=never \
    --set train.schedule.warmup_steps=2 > "$run.log" 2>&1 ||
    { cat "$run.log" >&2; return 1; }
  # Windows after the first are timed; equal tokens per window → harmonic mean of window rates.
  $py -c '
import json,sys
w=[json.loads(l)["tokens_per_s"] for l in open(sys.argv[1])][1:]
print(len(w)/sum(1/x for x in w))' "$run/metrics.jsonl"
}

peer_tps() {
  $py bench/pytorch_ddp_pretrain.py --data "$work/shards/*.hdf5" --vocab-size 30522 --hidden 256 \
    --layers 4 --heads 4 --intermediate 1024 --max-seq 128 --batch-size 16 --steps "$steps" \
    --warmup-steps "$warm" --precision "$1" --nproc 2 --threads 1 --bind core 2> "$work/peer-$1.err" |
    tail -n 1 | $py -c 'import json,sys; print(json.loads(sys.stdin.read())["tokens_per_s"])'
}

declare -A K P
for prec in fp32 bf16; do
  K[$prec]=$(kdprune_tps "$prec")
  P[$prec]=$(peer_tps "$prec")
done
$py - "${K[fp32]}" "${P[fp32]}" "${K[bf16]}" "${P[bf16]}" <<'PY'
import sys
kf, pf, kb, pb = map(float, sys.argv[1:])
print("precision  kdprune tok/s  pytorch-ddp tok/s  kdprune/pytorch")
print(f"fp32       {kf:13.0f}  {pf:17.0f}  {kf/pf:15.2f}x")
print(f"bf16       {kb:13.0f}  {pb:17.0f}  {kb/pb:15.2f}x")
print(f"bf16/fp32: kdprune {kb/kf:.2f}x, pytorch-ddp {pb/pf:.2f}x")
PY
echo "(load average during the run: $(cut -d' ' -f1-3 /proc/loadavg))"
