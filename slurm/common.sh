# shellcheck shell=bash
# Shared environment and launch logic for slurm/*.sbatch. Sourced, not executed:
#   source "$KD_ROOT/slurm/common.sh"
#   kd_setup
#   kd_run_requeueable "$KD_BIN" pretrain --config "$CONFIG" --set "run_dir=$RUN_DIR"
#
# Knobs (environment; sbatch passes the submitting shell's environment to the job):
#   KD_ROOT        project checkout (default: the directory sbatch was called from)
#   KD_BIN         kdprune binary (default $KD_ROOT/build/kdprune)
#   KD_LAUNCHER    srun (default) or mpirun
#   KD_SRUN_MPI    srun --mpi plugin (default pmix)
#   KD_SRUN_WAIT   seconds srun lets ranks outlive the first rank to exit (default 20)
#   KD_SRUN_ARGS   extra srun arguments;  KD_MPIRUN_ARGS  extra mpirun arguments
#   KD_MPIRUN_BIND mpirun --bind-to (default core; none where "nodes" share real cores)
#   KD_REQUEUE     1 (default): requeue the job when the binary exits 85 after SIGUSR1
#   RUN_ROOT       parent of the per-job run directories (default $KD_ROOT/runs/slurm)
#
# Signal / exit-code contract with kdprune (see slurm/README.md):
#   The batch shell receives SIGUSR1 shortly before the time limit (#SBATCH --signal=B:USR1@120)
#   and forwards it to the launcher (srun or mpirun), which delivers it to every rank. kdprune
#   then finishes the current step, writes a checkpoint (all ranks wait at a barrier until it is
#   complete) and exits with code 85 on every rank. On 85 the batch shell runs
#   `scontrol requeue $SLURM_JOB_ID`: the job restarts later with the same job id, hence the same
#   run directory, and `resume: auto` continues from the newest checkpoint.
#   SIGTERM (scancel, or the time limit itself) is forwarded too; kdprune checkpoints and exits
#   85 the same way, but the job is NOT requeued (the user or Slurm asked it to end).

KD_EXIT_REQUEUE=85

kd_log() { echo "kdprune-slurm: $*"; }
kd_die() {
  echo "kdprune-slurm: error: $*" >&2
  exit 1
}

# Sets OMP_NUM_THREADS, KD_BIN and RUN_ROOT and checks them; prints the job's shape.
kd_setup() {
  _kd_install_traps
  [ -n "${SLURM_JOB_ID:-}" ] || kd_die "not inside a Slurm job; submit with: sbatch slurm/pretrain.sbatch"
  KD_ROOT=${KD_ROOT:-${SLURM_SUBMIT_DIR:-$PWD}}
  KD_BIN=${KD_BIN:-$KD_ROOT/build/kdprune}
  case "$KD_BIN" in /*) ;; *) KD_BIN=$KD_ROOT/$KD_BIN ;; esac
  [ -x "$KD_BIN" ] || kd_die "kdprune binary '$KD_BIN' is missing or not executable;" \
    "build it (cmake --build build) or set KD_BIN=/path/to/kdprune"
  RUN_ROOT=${RUN_ROOT:-$KD_ROOT/runs/slurm}
  case "$RUN_ROOT" in /*) ;; *) RUN_ROOT=$KD_ROOT/$RUN_ROOT ;; esac
  # One OpenMP (LibTorch intra-op) thread per CPU Slurm gave each task.
  export OMP_NUM_THREADS=${KD_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
  KD_LAUNCHER=${KD_LAUNCHER:-srun}
  KD_REQUEUE=${KD_REQUEUE:-1}
  export KD_ROOT KD_BIN RUN_ROOT KD_LAUNCHER
  cd "$KD_ROOT"
  kd_log "job ${SLURM_JOB_ID} (${SLURM_JOB_NAME:-?}) restart ${SLURM_RESTART_COUNT:-0}" \
    "on ${SLURM_JOB_NODELIST:-?}: ${SLURM_NTASKS:-1} tasks x ${OMP_NUM_THREADS} threads," \
    "launcher ${KD_LAUNCHER}"
}

# Newest checkpoints/step_N in a run directory, or "none" (logged so a restart shows what it
# resumes from).
kd_latest_checkpoint() {
  local d=$1/checkpoints n
  n=$(ls "$d" 2>/dev/null | sed -n 's/^step_\([0-9][0-9]*\)$/\1/p' | sort -n | tail -n 1)
  if [ -n "$n" ]; then echo "step_$n"; else echo none; fi
}

# The launcher command (array KD_LAUNCH) for all tasks of the allocation.
kd_launcher_cmd() {
  local ntasks=${SLURM_NTASKS:-1} cpt=${SLURM_CPUS_PER_TASK:-1}
  case "$KD_LAUNCHER" in
    srun)
      # Slurm 22.05+ srun does not inherit --cpus-per-task from sbatch: pass it explicitly.
      # Not --kill-on-bad-exit: it kills the other ranks the moment the first one exits 85, and
      # srun then reports their 143 instead of 85. --wait bounds how long ranks may outlive the
      # first one to exit (a crashed rank must not leave the others hanging in a collective;
      # errors that kdprune catches end in MPI_Abort, which ends the step at once).
      # shellcheck disable=SC2206
      KD_LAUNCH=(srun --mpi="${KD_SRUN_MPI:-pmix}" --ntasks="$ntasks" --cpus-per-task="$cpt"
        --kill-on-bad-exit=0 --wait="${KD_SRUN_WAIT:-20}" ${KD_SRUN_ARGS:-})
      ;;
    mpirun)
      # Open MPI reads the allocation from SLURM_* and starts its daemons through srun.
      # KD_MPIRUN_BIND=none (emulated nodes sharing real cores): no PE binding either.
      if [ "${KD_MPIRUN_BIND:-core}" = none ]; then
        KD_LAUNCH=(mpirun -np "$ntasks" --map-by slot --bind-to none)
      else
        KD_LAUNCH=(mpirun -np "$ntasks" --map-by "slot:PE=$cpt" --bind-to "${KD_MPIRUN_BIND:-core}")
      fi
      [ "$(id -u)" -ne 0 ] || KD_LAUNCH+=(--allow-run-as-root)
      local v
      for v in $(compgen -e | grep -E '^(OMP_|KD_|TORCH_|HDF5_|NCCL_|CUDA_VISIBLE_DEVICES$)'); do
        KD_LAUNCH+=(-x "$v")
      done
      # shellcheck disable=SC2206
      KD_LAUNCH+=(${KD_MPIRUN_ARGS:-})
      ;;
    *) kd_die "KD_LAUNCHER must be srun or mpirun, got '$KD_LAUNCHER'" ;;
  esac
}

_kd_sig=""
_kd_got_usr1=0
_kd_got_term=0
_kd_child=""
_kd_on_signal() {
  _kd_sig=$1
  case "$1" in USR1) _kd_got_usr1=1 ;; *) _kd_got_term=1 ;; esac
  # srun treats a single SIGINT as a status request, so INT is forwarded as TERM.
  local fwd=$1
  [ "$fwd" != INT ] || fwd=TERM
  if [ -n "$_kd_child" ] && kill -0 "$_kd_child" 2>/dev/null; then
    kd_log "SIG$1 received: forwarding SIG$fwd to $KD_LAUNCHER (pid $_kd_child) so kdprune" \
      "checkpoints"
    kill -s "$fwd" "$_kd_child" 2>/dev/null || true
  else
    kd_log "SIG$1 received before launch"
  fi
}

# Installed as early as possible: an untrapped SIGUSR1 would kill the batch shell.
_kd_install_traps() {
  trap '_kd_on_signal USR1' USR1
  trap '_kd_on_signal TERM' TERM
  trap '_kd_on_signal INT' INT
}

# Runs "$@" on all tasks through the launcher, forwarding SIGUSR1/SIGTERM/SIGINT, and requeues
# the job when the program exits $KD_EXIT_REQUEUE after SIGUSR1. Returns the program's exit
# code (0 after a successful requeue).
kd_run_requeueable() {
  _kd_install_traps
  kd_launcher_cmd
  local rc
  if [ $_kd_got_usr1 -eq 1 ] && [ $_kd_got_term -eq 0 ]; then
    rc=$KD_EXIT_REQUEUE # the time-limit warning came before we even started
  elif [ $_kd_got_term -eq 1 ]; then
    return 143
  else
    kd_log "running:$(printf ' %q' "${KD_LAUNCH[@]}" "$@")"
    # In the background so the traps run while we wait (bash defers traps during a foreground
    # child).
    "${KD_LAUNCH[@]}" "$@" &
    _kd_child=$!
    while :; do
      _kd_sig=""
      set +e
      wait "$_kd_child"
      rc=$?
      set -e
      # A trapped signal interrupts wait with 128+n; wait again for the real exit status.
      [ -n "$_kd_sig" ] || break
    done
    _kd_child=""
  fi
  kd_log "$KD_LAUNCHER exited with code $rc"
  if [ "$rc" -eq "$KD_EXIT_REQUEUE" ]; then
    if [ $_kd_got_term -eq 1 ]; then
      kd_log "checkpointed after SIGTERM (cancelled or out of time): not requeueing;" \
        "resubmit with RUN_DIR=${RUN_DIR:-<this run directory>} to continue"
    elif [ "$KD_REQUEUE" = 1 ]; then
      kd_log "checkpoint written on signal: requeueing job $SLURM_JOB_ID (same run directory)"
      if scontrol requeue "$SLURM_JOB_ID"; then
        return 0
      fi
      kd_log "scontrol requeue failed; resubmit with RUN_DIR=${RUN_DIR:-<this run directory>} to continue"
    else
      kd_log "KD_REQUEUE=$KD_REQUEUE: not requeueing; resubmit with RUN_DIR=${RUN_DIR:-<this run directory>} to continue"
    fi
  fi
  return "$rc"
}
