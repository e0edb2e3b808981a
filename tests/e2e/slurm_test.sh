#!/usr/bin/env bash
# Integration test: runs slurm/pretrain.sbatch (or --script) on a real single-node Slurm started by
# scripts/slurm-local.sh, and checks that the job completes and leaves a checkpoint in its run
# directory.
#
#   tests/e2e/slurm_test.sh KDPRUNE_BIN CONFIG [--requeue] [--launcher srun|mpirun]
#                           [--script pretrain.sbatch|distill.sbatch|schubert.sbatch|campaign.sbatch] [-- ARGS...]
#
#   --requeue    also exercise checkpoint-and-requeue: once the job has written its first
#                checkpoint, send SIGUSR1 to the batch shell (what Slurm does before the time
#                limit); kdprune must checkpoint and exit 85, the job must requeue itself, resume
#                from that checkpoint under the same job id, and complete. The run must be long
#                enough to still be training after its first checkpoint: pass ARGS such as
#                `-- --set train.max_steps=200` if the config alone is too short.
#   --launcher   srun (default) or mpirun inside the allocation (KD_LAUNCHER of slurm/common.sh)
#   --script     the sbatch script under slurm/ (default pretrain.sbatch)
#   ARGS         extra arguments for the kdprune command
#
# Environment: KD_SLURM_TEST_TIMEOUT (seconds per job, default 600), KD_SLURM_TEST_KEEP=1 (keep
# the work directory and a Slurm this test started), KD_SLURM_DIR (see scripts/slurm-local.sh).
# Exit codes: 0 pass, 1 fail, 77 skip (only when the Slurm/munge programs are not installed).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TIMEOUT=${KD_SLURM_TEST_TIMEOUT:-600}

fail() {
  echo "slurm_test: FAIL: $*" >&2
  exit 1
}
say() { echo "slurm_test: $*"; }

[ $# -ge 2 ] || fail "usage: $0 KDPRUNE_BIN CONFIG [--requeue] [--launcher srun|mpirun] [--script NAME] [-- ARGS...]"
BIN=$1
CONFIG=$2
shift 2
REQUEUE=0
LAUNCHER=srun
SCRIPT=pretrain.sbatch
while [ $# -gt 0 ]; do
  case "$1" in
    --requeue) REQUEUE=1; shift ;;
    --launcher) LAUNCHER=${2:?--launcher needs srun or mpirun}; shift 2 ;;
    --script) SCRIPT=${2:?--script needs a file name under slurm/}; shift 2 ;;
    --) shift; break ;;
    *) fail "unknown argument '$1'" ;;
  esac
done
EXTRA=("$@")

missing=()
for t in sbatch scontrol scancel srun sinfo slurmctld slurmd munged; do
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "slurm_test: SKIP: ${missing[*]} not installed (Debian: slurm-wlm munge;" \
    "scripts/install-deps.sh --all)"
  exit 77
fi
export PATH=$PATH:/usr/sbin
[ -x "$BIN" ] || fail "kdprune binary '$BIN' is missing or not executable"
[ -f "$CONFIG" ] || fail "config '$CONFIG' not found"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
CONFIG=$(cd "$(dirname "$CONFIG")" && pwd)/$(basename "$CONFIG")

# ---- the cluster ---------------------------------------------------------------------------
LOCAL=$ROOT/scripts/slurm-local.sh
eval "$("$LOCAL" env)" # SLURM_CONF for every Slurm command below and for the job
started=0
if ! "$LOCAL" status >/dev/null 2>&1; then
  "$LOCAL" start || fail "could not start the local Slurm (scripts/slurm-local.sh start)"
  started=1
fi

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/kd-slurm-test.XXXXXX")
chmod 755 "$WORK"
JOB=""
ok=0
cleanup() {
  if [ -n "$JOB" ] && [ $ok -eq 0 ]; then scancel "$JOB" >/dev/null 2>&1 || true; fi
  if [ $ok -eq 1 ] && [ "${KD_SLURM_TEST_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else
    say "work directory kept: $WORK"
  fi
  if [ $started -eq 1 ] && [ "${KD_SLURM_TEST_KEEP:-0}" != 1 ]; then "$LOCAL" stop >/dev/null || true; fi
}
trap cleanup EXIT

job_field() { # job_field ID FIELD -> value from `scontrol show job -o`
  scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

diagnose() {
  echo "===== scontrol show job $JOB =====" >&2
  scontrol show job "$JOB" >&2 2>&1 || true
  echo "===== job log $LOG =====" >&2
  cat "$LOG" >&2 2>/dev/null || echo "(no job log)" >&2
  echo "===== run directory $RUN_DIR =====" >&2
  find "$RUN_DIR" -maxdepth 3 >&2 2>/dev/null || echo "(absent)" >&2
  local f
  for f in "${KD_SLURM_DIR:-/var/tmp/kdprune-slurm}"/log/slurm{ctld,d}.log; do
    echo "===== last 20 lines of $f =====" >&2
    tail -n 20 "$f" >&2 2>/dev/null || true
  done
}
job_fail() {
  echo "slurm_test: FAIL: $*" >&2
  diagnose
  exit 1
}

# Newest step number among RUN_DIR/checkpoints/step_N directories that hold files, or empty.
latest_step() {
  local d n best=""
  for d in "$RUN_DIR"/checkpoints/step_*; do
    [ -d "$d" ] || continue
    n=${d##*/step_}
    [[ "$n" =~ ^[0-9]+$ ]] || continue # skip temporaries of an atomic write
    [ -n "$(ls -A "$d")" ] || continue
    if [ -z "$best" ] || [ "$n" -gt "$best" ]; then best=$n; fi
  done
  echo "$best"
}

is_final() {
  case "$1" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | PREEMPTED | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE) return 0 ;;
  esac
  return 1
}

# Polls until the job reaches a final state; sets STATE.
wait_final() {
  local deadline=$((SECONDS + TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    STATE=$(job_field "$JOB" JobState)
    [ -n "$STATE" ] || job_fail "job $JOB vanished from scontrol (MinJobAge too small?)"
    is_final "$STATE" && return 0
    sleep 1
  done
  job_fail "job $JOB did not finish within ${TIMEOUT}s (state $(job_field "$JOB" JobState))"
}

# ---- submit --------------------------------------------------------------------------------
sb_args=(--parsable --job-name=kd-slurm-test --output="$WORK/job-%j.out" --time=00:30:00
  --nodes=1 --ntasks-per-node=2 --cpus-per-task=1)
# Two ranks on a one-CPU machine: let Slurm place two tasks on one CPU.
[ "$(nproc)" -ge 2 ] || sb_args+=(--overcommit)
say "submitting slurm/$SCRIPT (launcher $LAUNCHER) with $BIN, config $CONFIG ${EXTRA[*]}"
JOB=$(cd "$WORK" && KD_ROOT=$ROOT KD_BIN=$BIN RUN_ROOT=$WORK/runs CONFIG=$CONFIG \
  KD_LAUNCHER=$LAUNCHER sbatch "${sb_args[@]}" "$ROOT/slurm/$SCRIPT" "${EXTRA[@]}") ||
  fail "sbatch failed"
JOB=${JOB%%;*}
LOG=$WORK/job-$JOB.out
RUN_DIR=$WORK/runs/$JOB
say "job $JOB submitted; log $LOG, run directory $RUN_DIR"

if [ $REQUEUE -eq 1 ]; then
  # Signal once training is under way (a checkpoint exists), as the time-limit warning would.
  deadline=$((SECONDS + TIMEOUT))
  first=""
  while [ $SECONDS -lt $deadline ]; do
    first=$(latest_step)
    [ -z "$first" ] || break
    st=$(job_field "$JOB" JobState)
    if is_final "$st"; then
      job_fail "job ended ($st) before writing its first checkpoint, so SIGUSR1 could not be" \
        "tested; the run must keep training after its first checkpoint (pass e.g." \
        "'-- --set train.max_steps=N' to make it longer)"
    fi
    sleep 0.2
  done
  [ -n "$first" ] || job_fail "no checkpoint in $RUN_DIR/checkpoints within ${TIMEOUT}s"
  say "checkpoint step_$first exists; sending SIGUSR1 to the batch shell of job $JOB"
  scancel --signal=USR1 --batch "$JOB" || job_fail "scancel --signal=USR1 --batch $JOB failed"
fi

wait_final
state=$STATE
exit_code=$(job_field "$JOB" ExitCode)
restarts=$(job_field "$JOB" Restarts)
[ "$state" = COMPLETED ] || job_fail "job $JOB ended $state (exit code $exit_code), expected COMPLETED"
[ "$exit_code" = 0:0 ] || job_fail "job $JOB exit code $exit_code, expected 0:0"
last=$(latest_step)
if [ -s "$RUN_DIR/campaign_report.json" ]; then
  # campaign.sbatch: each stage has its own run directory; every one must be done.
  /usr/bin/python3 - "$RUN_DIR/campaign_report.json" <<'PY' || job_fail "campaign stages not all done"
import json, sys
rows = json.load(open(sys.argv[1]))["stages"]
bad = [(s["stage"], s["status"]) for s in rows if s["status"] != "done"]
assert rows and not bad, bad
print(f"campaign of {len(rows)} stages done on ranks {sorted({r for s in rows for r in s['ranks']})}")
PY
  say "job $JOB COMPLETED"
elif [ -z "$last" ] && [ -s "$RUN_DIR/model/config.json" ] && [ -s "$RUN_DIR/rounds.jsonl" ]; then
  # schubert.sbatch: checkpoints live in each round's phase directories; the result is model/.
  say "job $JOB COMPLETED after $restarts restart(s); pruned model in $RUN_DIR/model"
else
  [ -n "$last" ] || job_fail "no non-empty checkpoints/step_N directory in $RUN_DIR"
  say "job $JOB COMPLETED after $restarts restart(s); newest checkpoint step_$last"
fi

if [ $REQUEUE -eq 1 ]; then
  [ "${restarts:-0}" -ge 1 ] || job_fail "job $JOB was not requeued (Restarts=$restarts)" \
    "although it got SIGUSR1 after step_$first; did kdprune finish before the signal?"
  grep -q "exited with code 85" "$LOG" ||
    job_fail "kdprune did not exit 85 after SIGUSR1 (contract in slurm/README.md)"
  # slurm/pretrain.sbatch logs "latest checkpoint: step_N|none" at every start; the log is
  # appended to across requeues, so the second such line is the restart's.
  resumed=$(sed -n 's/^kdprune-slurm: run directory .*; latest checkpoint: //p' "$LOG" | sed -n 2p)
  [[ "$resumed" =~ ^step_[0-9]+$ ]] ||
    job_fail "the restarted job found no checkpoint in its run directory (got '${resumed}')"
  [ "${resumed#step_}" -ge "$first" ] ||
    job_fail "restart resumed from $resumed, older than step_$first seen before the signal"
  [ "$last" -ge "${resumed#step_}" ] ||
    job_fail "newest checkpoint step_$last is older than the one resumed from ($resumed)"
  say "requeue: checkpointed on SIGUSR1, restarted from $resumed, finished at step_$last"
fi
ok=1
say "PASS"
