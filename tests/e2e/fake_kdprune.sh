#!/usr/bin/env bash
# Development stand-in for `kdprune pretrain` that follows the launch contract of
# slurm/README.md: `pretrain --config FILE --set run_dir=DIR [--set ...]`; resumes from the
# newest DIR/checkpoints/step_N; rank 0 writes checkpoints/step_N/ every step; on SIGUSR1 or
# SIGTERM it writes a checkpoint and exits 85. Steps: FAKE_STEPS (default 5), each
# FAKE_STEP_SECONDS long (default 0.5). Not used by the registered test (that runs the real
# binary); kept for exercising slurm/ and launch/ without a build.
set -euo pipefail
[ "${1:-}" = pretrain ] || { echo "fake_kdprune: only 'pretrain' is supported" >&2; exit 2; }
shift
run_dir="" config=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=$2; shift 2 ;;
    --set) case "$2" in run_dir=*) run_dir=${2#run_dir=} ;; esac; shift 2 ;;
    *) echo "fake_kdprune: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$config" ] || { echo "fake_kdprune: config '$config' not found" >&2; exit 2; }
[ -n "$run_dir" ] || { echo "fake_kdprune: no run_dir" >&2; exit 2; }
rank=${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-${SLURM_PROCID:-0}}}
steps=${FAKE_STEPS:-5}
dt=${FAKE_STEP_SECONDS:-0.5}
stop=""
trap 'stop=USR1' USR1
trap 'stop=TERM' TERM
step=0
if [ -d "$run_dir/checkpoints" ]; then
  last=$(ls "$run_dir/checkpoints" | sed -n 's/^step_\([0-9]*\)$/\1/p' | sort -n | tail -n 1)
  if [ -n "$last" ]; then step=$last; echo "fake_kdprune rank $rank: resuming from step $step"; fi
fi
save() {
  [ "$rank" = 0 ] || return 0
  mkdir -p "$run_dir/checkpoints/step_$1.tmp"
  echo "{\"step\": $1}" > "$run_dir/checkpoints/step_$1.tmp/state.json"
  mv "$run_dir/checkpoints/step_$1.tmp" "$run_dir/checkpoints/step_$1"
}
while [ "$step" -lt "$steps" ]; do
  sleep "$dt" & wait $! || true
  step=$((step + 1))
  save "$step"
  echo "fake_kdprune rank $rank: step $step/$steps omp=${OMP_NUM_THREADS:-unset}"
  if [ -n "$stop" ]; then
    echo "fake_kdprune rank $rank: SIG$stop: checkpointed step $step, exiting 85"
    # Stands in for the barrier after the checkpoint write: srun/mpirun kill the other ranks
    # as soon as one exits non-zero.
    [ "$rank" = 0 ] || sleep 1
    exit 85
  fi
done
echo "fake_kdprune rank $rank: done"
