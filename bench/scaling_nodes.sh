#!/usr/bin/env bash
# Weak scaling across emulated nodes (scripts/cluster-local.sh: one rank per node, TCP over a
# tc-shaped link): pretrain (the quickstart model) and Tutor-KD distillation (its 2 x 128 student)
# steps at batch 16 per rank on 1 node and on 2 nodes, the 2-node runs in each reduction mode,
# each mode run twice in alternation, per link setting. Modes:
#   hook   buckets reduced inside backward's hooks (the default)
#   hook-bf16  hook, buckets all-reduced in bf16 (dist.grad_bf16)
#   thread on a communication thread (dist.comm_thread)
#   defer  thread + the tied word embedding's lookup gradient deferred (dist.defer_embedding_grad)
#   bf16   defer + buckets all-reduced in bf16 (dist.grad_bf16)
#   poll   defer, the thread running a ring of non-blocking messages tested every $KD_POLL_US
#          µs (200), sleeping in between, instead of spinning in MPI_Allreduce (dist.comm_poll_us)
#   poll-bf16  poll + bf16
# Prints per case: tokens/s, step time, exposed communication (2-node step - 1-node step) and
# weak-scaling efficiency (1-node step / 2-node step).
#   bench/scaling_nodes.sh [timed_steps=10] [warmup_steps=3] [precision=bf16]
#                          [links="unshaped 1gbit"] [commands="pretrain distill"]
#                          [modes="hook thread defer bf16"]
# Root (network namespaces); brings the cluster up per link setting, down at the end.
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
steps="${1:-10}"; warm="${2:-3}"; prec="${3:-bf16}"; links="${4:-unshaped 1gbit}"
commands="${5:-pretrain distill}"; modes="${6:-hook thread defer bf16}"
poll_us="${KD_POLL_US:-200}"
ensure_bench_shards
cl="$root/scripts/cluster-local.sh"
trap '"$cl" down > /dev/null 2>&1 || true' EXIT
hostfile="$work/nodes-hostfile"
batch=16; seq=128

# A teacher for distill: its weights do not matter for timing, so one pre-training step.
teacher="$work/nodes-teacher"
if [[ " $commands " == *" distill "* ]] && [ ! -s "$teacher/model/config.json" ]; then
  (cd "$root" && "$bin" pretrain --config configs/quickstart.yaml --set run_dir="$teacher" \
    --set "data.train=[\"$work/shards/*.hdf5\"]" --set data.batch_size=2 --set train.steps=1 --set train.schedule.warmup_steps=0 \
    --set resume=never) > "$teacher.log" 2>&1 || { cat "$teacher.log" >&2; exit 1; }
fi

args_for() { # args_for COMMAND
  case "$1" in
    pretrain) echo "pretrain --config configs/quickstart.yaml" ;;
    distill) echo "distill --config configs/distill-quickstart.yaml --set teacher.dir=$teacher/model --set data.heldout=[]" ;;
  esac
}

mode_flags() { # mode_flags MODE -> --set arguments
  case "$1" in
    hook) echo "--set dist.comm_thread=false" ;;
    hook-bf16) echo "--set dist.comm_thread=false --set dist.grad_bf16=true" ;;
    thread) echo "--set dist.comm_thread=true" ;;
    defer) echo "--set dist.comm_thread=true --set dist.defer_embedding_grad=true" ;;
    bf16) echo "--set dist.comm_thread=true --set dist.defer_embedding_grad=true --set dist.grad_bf16=true" ;;
    poll) echo "--set dist.comm_thread=true --set dist.defer_embedding_grad=true --set dist.comm_poll_us=$poll_us" ;;
    poll-bf16) echo "$(mode_flags poll) --set dist.grad_bf16=true" ;;
    *) echo "scaling_nodes: unknown mode $1" >&2; exit 2 ;;
  esac
}
mode_name() {
  case "$1" in
    hook) echo "in the hook" ;; hook-bf16) echo "in the hook, bf16 all-reduce" ;;
    thread) echo "communication thread" ;;
    defer) echo "thread + deferred embedding rows" ;; bf16) echo "thread + deferred + bf16 all-reduce" ;;
    poll) echo "polled thread + deferred" ;; poll-bf16) echo "polled thread + deferred + bf16" ;;
  esac
}

# run NAME NODES COMMAND MODE -> tokens/s of all ranks
run() {
  local run="$work/$1" nodes=$2 cmd=$3 mode=$4
  rm -rf "$run"
  # shellcheck disable=SC2046 # the command's words
  (cd "$root" && "$cl" exec head env OMP_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1 \
    mpirun -np "$nodes" $root_flag --hostfile "$hostfile" --map-by node --bind-to none \
    -x OMP_NUM_THREADS "$bin" $(args_for "$cmd") \
    --set "data.train=[\"$work/shards/*.hdf5\"]" --set data.batch_size=$batch --set run_dir="$run" \
    --set train.steps=$((steps + warm)) --set train.log_every="$warm" \
    --set train.precision="$prec" --set train.checkpoint_every=0 \
    --set train.schedule.warmup_steps=2 --set resume=never $(mode_flags "$mode")) \
    > "$run.log" 2>&1 || { cat "$run.log" >&2; return 1; }
  [[ "$mode" = hook* ]] || [ "$nodes" = 1 ] || grep -q "communication-thread" "$run.log" ||
    { echo "scaling_nodes: dist.comm_thread did not take effect (see $run.log)" >&2; return 1; }
  steady_tokens_per_s "$run/metrics.jsonl"
}

echo "| command | link | reduction | tokens/s (2 runs) | step | exposed communication | weak-scaling efficiency |"
echo "|---|---|---|---|---|---|---|"
for link in $links; do
  if [ "$link" = unshaped ]; then "$cl" up 2 > /dev/null; else "$cl" up 2 --link "$link" > /dev/null; fi
  "$cl" hostfile > "$hostfile"
  for cmd in $commands; do
    one=$(run "nodes-$cmd-1" 1 "$cmd" hook)
    printf '| %s | 1 node | - | %.0f | %.0f ms | - | - |\n' "$cmd" "$one" \
      "$($py -c "print($batch * $seq / $one * 1000)")"
    declare -A first=() second=()
    for m in $modes; do first[$m]=$(run "nodes-$cmd-$m-1" 2 "$cmd" "$m"); done
    for m in $modes; do second[$m]=$(run "nodes-$cmd-$m-2" 2 "$cmd" "$m"); done
    for m in $modes; do
      $py - "$cmd" "$link" "$(mode_name "$m")" "$one" "${first[$m]}" "${second[$m]}" <<PY
import sys
cmd, link, mode = sys.argv[1:4]
one, x, y = map(float, sys.argv[4:])
t1 = $batch * $seq / one  # seconds per step, 1 rank
t2 = 2 * $batch * $seq / ((x + y) / 2)  # seconds per step, 2 ranks
print(f"| {cmd} | {link} | {mode} | {x:.0f} / {y:.0f} | {t2*1000:.0f} ms | {(t2-t1)*1000:.0f} ms | {t1/t2:.2f} |")
PY
    done
  done
  "$cl" down > /dev/null
done
echo "($prec, $steps timed steps after $warm, batch $batch x $seq per rank; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
