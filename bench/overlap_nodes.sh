#!/usr/bin/env bash
# Gradient reduction overlapped with backward, across 2 emulated nodes (scripts/cluster-local.sh:
# one rank per node, TCP over a tc-shaped link): kdprune pretrain of the quickstart model (batch
# 16 per rank) with the buckets all-reduced inside backward's hooks (dist.comm_thread: false, the
# default) vs on a communication thread while backward goes on (true), per link setting, each
# mode run twice in alternation. Prints tokens/s of both ranks and the ratio.
#   bench/overlap_nodes.sh [timed_steps=10] [warmup_steps=3] [precision=bf16] [links="unshaped 1gbit"]
# Brings the cluster up per link setting and takes it down at the end (root; network namespaces).
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
steps="${1:-10}"; warm="${2:-3}"; prec="${3:-bf16}"; links="${4:-unshaped 1gbit}"
ensure_bench_shards
cl="$root/scripts/cluster-local.sh"
trap '"$cl" down > /dev/null 2>&1 || true' EXIT
hostfile="$work/overlap-hostfile"

run_on_nodes() { # run_on_nodes NAME COMM_THREAD -> tokens/s
  local run="$work/$1"
  rm -rf "$run"
  (cd "$root" && "$cl" exec head env OMP_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1 \
    mpirun -np 2 $root_flag --hostfile "$hostfile" --map-by node --bind-to none \
    -x OMP_NUM_THREADS "$bin" pretrain --config configs/quickstart.yaml \
    --set "data.train=[\"$work/shards/*.hdf5\"]" --set data.batch_size=16 --set run_dir="$run" \
    --set train.steps=$((steps + warm)) --set train.log_every="$warm" \
    --set train.precision="$prec" --set train.checkpoint_every=0 \
    --set train.schedule.warmup_steps=2 --set resume=never --set dist.comm_thread="$2") \
    > "$run.log" 2>&1 || { cat "$run.log" >&2; return 1; }
  grep -q "communication-thread" "$run.log" || [ "$2" = false ] ||
    { echo "overlap_nodes: dist.comm_thread did not take effect (see $run.log)" >&2; return 1; }
  $py -c '
import json,sys
w=[json.loads(l)["tokens_per_s"] for l in open(sys.argv[1])][1:]
print(len(w)/sum(1/x for x in w))' "$run/metrics.jsonl"
}

echo "| link | in-hook (blocking) tokens/s | communication thread tokens/s | ratio |"
echo "|---|---|---|---|"
for link in $links; do
  if [ "$link" = unshaped ]; then "$cl" up 2 > /dev/null; else "$cl" up 2 --link "$link" > /dev/null; fi
  "$cl" hostfile > "$hostfile"
  a1=$(run_on_nodes overlap-off-1 false); b1=$(run_on_nodes overlap-on-1 true)
  a2=$(run_on_nodes overlap-off-2 false); b2=$(run_on_nodes overlap-on-2 true)
  $py -c "import sys; a1,b1,a2,b2=map(float,sys.argv[2:])
print(f'| {sys.argv[1]} | {a1:.0f} / {a2:.0f} | {b1:.0f} / {b2:.0f} | {(b1+b2)/(a1+a2):.2f}x |')" \
    "$link" "$a1" "$b1" "$a2" "$b2"
  "$cl" down > /dev/null
done
echo "($prec, $steps timed steps after $warm, batch 16 per rank, quickstart model; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
