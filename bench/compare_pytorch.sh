#!/usr/bin/env bash
# kdprune pretrain vs the PyTorch DDP (gloo) peer (bench/pytorch_ddp_pretrain.py, Debian's
# python3-torch): same model (H=256 L=4 A=4 F=1024 V=30522), same shards (T=128, P=20), batch
# 16 per rank, 2 ranks x 1 thread bound to a core each, fp32 and bf16, in one run. Prints the
# throughput ratio per precision and the bf16/fp32 speed-up of each.
#   bench/compare_pytorch.sh [timed_steps=20] [warmup_steps=5]
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
steps="${1:-20}"; warm="${2:-5}"
ensure_bench_shards

peer_tps() {
  $py "$root/bench/pytorch_ddp_pretrain.py" --data "$work/shards/*.hdf5" --vocab-size 30522 --hidden 256 \
    --layers 4 --heads 4 --intermediate 1024 --max-seq 128 --batch-size 16 --steps "$steps" \
    --warmup-steps "$warm" --precision "$1" --nproc 2 --threads 1 --bind core 2> "$work/peer-$1.err" |
    tail -n 1 | $py -c 'import json,sys; print(json.loads(sys.stdin.read())["tokens_per_s"])'
}

declare -A K P
for prec in fp32 bf16; do
  # Same recipe as the peer: no gradient clipping.
  K[$prec]=$(kdprune_tokens_per_s 2 "$prec" "$steps" "$warm" "kdprune-$prec" --set train.clip_norm=0)
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
