#!/usr/bin/env bash
# Integration test: runs slurm/pretrain.sbatch (or --script) on a real Slurm, single-node (started
# by scripts/slurm-local.sh) or multi-node (--nodes N: scripts/cluster-local.sh, one rank per
# node), and checks that the job completes and leaves a checkpoint in its run directory.
#
#   tests/e2e/slurm_test.sh KDPRUNE_BIN CONFIG [--requeue] [--launcher srun|mpirun]
#                           [--script pretrain.sbatch|distill.sbatch|schubert.sbatch|campaign.sbatch]
#                           [--nodes N] [--same-losses] [--crash PATTERN] [-- ARGS...]
#
#   --requeue    also exercise checkpoint-and-requeue: once the job has written its first
#                checkpoint, send SIGUSR1 to the batch shell (what Slurm does before the time
#                limit); kdprune must checkpoint and exit 85, the job must requeue itself, resume
#                from that checkpoint under the same job id, and complete. The run must be long
#                enough to still be training after its first checkpoint: pass ARGS such as
#                `-- --set train.max_steps=200` if the config alone is too short.
#   --launcher   srun (default) or mpirun inside the allocation (KD_LAUNCHER of slurm/common.sh)
#   --script     the sbatch script under slurm/ (default pretrain.sbatch)
#   --nodes N    run on N emulated nodes (network namespaces joined by TCP links), one rank per
#                node, every Slurm command from the head node; the cluster is brought up (and
#                taken down again) when it is not already up with N nodes
#   --same-losses the job's losses (metrics.jsonl, per step; a requeued run's repeated steps
#                counted once, the last value) must equal, bit for bit, those of the same command
#                run with mpirun on this host with as many ranks (pretrain/distill only)
#   --crash PATTERN  the job must fail (ARGS inject the fault, e.g. debug.fail_kind=kill): its
#                log must show PATTERN (the launcher or kdprune naming the dead rank), every
#                rank must be gone within 30 s of it, and checkpoints/latest must still name a
#                complete checkpoint
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
NODES=0
SAME_LOSSES=0
LAUNCHER=srun
SCRIPT=pretrain.sbatch
CRASH=""
while [ $# -gt 0 ]; do
  case "$1" in
    --requeue) REQUEUE=1; shift ;;
    --launcher) LAUNCHER=${2:?--launcher needs srun or mpirun}; shift 2 ;;
    --script) SCRIPT=${2:?--script needs a file name under slurm/}; shift 2 ;;
    --nodes) NODES=${2:?--nodes needs a node count}; shift 2 ;;
    --same-losses) SAME_LOSSES=1; shift ;;
    --crash) CRASH=${2:?--crash needs the pattern naming the dead rank}; shift 2 ;;
    --) shift; break ;;
    *) fail "unknown argument '$1'" ;;
  esac
done
EXTRA=("$@")

missing=()
tools=(sbatch scontrol scancel srun sinfo slurmctld slurmd munged)
[ "$NODES" -eq 0 ] || tools+=(ip tc nsenter unshare)
for t in "${tools[@]}"; do
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
started=0
if [ "$NODES" -gt 0 ]; then
  # Every Slurm client runs on the head node (the cluster's addresses exist only there).
  LOCAL=$ROOT/scripts/cluster-local.sh
  sl() { "$LOCAL" exec head "$@"; }
  SLURM_LOGS=${KD_CLUSTER_DIR:-/var/tmp/kdprune-cluster}/log
  if ! "$LOCAL" status >/dev/null 2>&1 ||
    ! grep -qx "KD_CLUSTER_NODES=$NODES" "$SLURM_LOGS/../cluster.env" 2>/dev/null; then
    "$LOCAL" up "$NODES" || fail "could not bring up the $NODES-node cluster (scripts/cluster-local.sh up $NODES)"
    started=1
  fi
else
  LOCAL=$ROOT/scripts/slurm-local.sh
  sl() { "$@"; }
  SLURM_LOGS=${KD_SLURM_DIR:-/var/tmp/kdprune-slurm}/log
  eval "$("$LOCAL" env)" # SLURM_CONF for every Slurm command below and for the job
  if ! "$LOCAL" status >/dev/null 2>&1; then
    "$LOCAL" start || fail "could not start the local Slurm (scripts/slurm-local.sh start)"
    started=1
  fi
fi
stop_cluster() { if [ "$NODES" -gt 0 ]; then "$LOCAL" down; else "$LOCAL" stop; fi; }

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/kd-slurm-test.XXXXXX")
chmod 755 "$WORK"
JOB=""
ok=0
cleanup() {
  if [ -n "$JOB" ] && [ $ok -eq 0 ]; then sl scancel "$JOB" >/dev/null 2>&1 || true; fi
  if [ $ok -eq 1 ] && [ "${KD_SLURM_TEST_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; else
    say "work directory kept: $WORK"
  fi
  if [ $started -eq 1 ] && [ "${KD_SLURM_TEST_KEEP:-0}" != 1 ]; then stop_cluster >/dev/null || true; fi
}
trap cleanup EXIT

job_field() { # job_field ID FIELD -> value from `scontrol show job -o`
  sl scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

diagnose() {
  echo "===== scontrol show job $JOB =====" >&2
  sl scontrol show job "$JOB" >&2 2>&1 || true
  echo "===== job log $LOG =====" >&2
  cat "$LOG" >&2 2>/dev/null || echo "(no job log)" >&2
  echo "===== run directory $RUN_DIR =====" >&2
  find "$RUN_DIR" -maxdepth 3 >&2 2>/dev/null || echo "(absent)" >&2
  local f
  for f in "$SLURM_LOGS"/slurm*.log; do
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

# Polls until the job reaches a final state; sets STATE. A job that waits for resources while
# every node is idle will never start (what Slurm 24.11 did with --overcommit here): it fails
# after 60 s with Slurm's view of the job instead of waiting out TIMEOUT.
wait_final() {
  local deadline=$((SECONDS + TIMEOUT)) stuck_since=""
  while [ $SECONDS -lt $deadline ]; do
    STATE=$(job_field "$JOB" JobState)
    [ -n "$STATE" ] || job_fail "job $JOB vanished from scontrol (MinJobAge too small?)"
    is_final "$STATE" && return 0
    if [ "$STATE" = PENDING ] && [ "$(job_field "$JOB" Reason)" = Resources ] &&
      [ -z "$(sl sinfo -h -t alloc,mix,comp -o %N 2>/dev/null)" ]; then
      stuck_since=${stuck_since:-$SECONDS}
      [ $((SECONDS - stuck_since)) -lt 60 ] ||
        job_fail "job $JOB pending (Resources) for 60 s while every node is idle: Slurm cannot" \
          "place it as requested ($(job_field "$JOB" NumCPUs) CPUs for $(job_field "$JOB" NumTasks) tasks)"
    else
      stuck_since=""
    fi
    sleep 1
  done
  job_fail "job $JOB did not finish within ${TIMEOUT}s (state $(job_field "$JOB" JobState))"
}

# ---- submit --------------------------------------------------------------------------------
sb_args=(--parsable --job-name=kd-slurm-test --output="$WORK/job-%j.out" --time=00:30:00
  --cpus-per-task=1)
if [ "$NODES" -gt 0 ]; then sb_args+=(--nodes="$NODES" --ntasks-per-node=1); else
  sb_args+=(--nodes=1 --ntasks-per-node=2)
  # Two ranks on a one-CPU machine: let Slurm place two tasks on one CPU. The cores are counted
  # by scripts/cores, not nproc, which honours ctest's OMP_NUM_THREADS=1. Slurm 24.11 never
  # starts --overcommit together with --cpus-per-task=1 (which slurm/*.sbatch set): it stays
  # pending "(Resources)" (22.05 starts it), so on one CPU under 24.11 this test fails (below).
  [ "$("$ROOT/scripts/cores")" -ge 2 ] || sb_args+=(--overcommit)
fi
say "submitting slurm/$SCRIPT (launcher $LAUNCHER) with $BIN, config $CONFIG ${EXTRA[*]}"
# Across emulated nodes: ranks of different nodes share the real cores, so no core binding
# (shared/notes/multinode.md), and ranks yield while they wait.
JOB=$(cd "$WORK" && sl env KD_ROOT="$ROOT" KD_BIN="$BIN" RUN_ROOT="$WORK/runs" CONFIG="$CONFIG" \
  KD_LAUNCHER="$LAUNCHER" KD_MPIRUN_BIND=none OMPI_MCA_mpi_yield_when_idle=1 \
  sbatch "${sb_args[@]}" "$ROOT/slurm/$SCRIPT" "${EXTRA[@]}") ||
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
  sl scancel --signal=USR1 --batch "$JOB" || job_fail "scancel --signal=USR1 --batch $JOB failed"
fi

if [ -n "$CRASH" ]; then
  deadline=$((SECONDS + TIMEOUT))
  until grep -q -- "$CRASH" "$LOG" 2>/dev/null; do
    st=$(job_field "$JOB" JobState)
    is_final "$st" && job_fail "job ended ($st) without '$CRASH' in its log"
    [ $SECONDS -lt $deadline ] || job_fail "'$CRASH' not in the job log within ${TIMEOUT}s"
    sleep 0.2
  done
  crashed_at=$SECONDS
  wait_final
  took=$((SECONDS - crashed_at))
  [ "$STATE" = FAILED ] || job_fail "job $JOB ended $STATE after the crash, expected FAILED"
  [ "$took" -lt 30 ] || job_fail "the job ended ${took}s after '$CRASH' (limit 30s)"
  name=$(tr -d '\n' < "$RUN_DIR/checkpoints/latest" 2>/dev/null) || job_fail "no checkpoints/latest"
  [ -s "$RUN_DIR/checkpoints/$name/trainer_state.json" ] && [ -s "$RUN_DIR/checkpoints/$name/model/model.safetensors" ] ||
    job_fail "checkpoints/latest names '$name', which is not a complete checkpoint"
  say "crash: '$(grep -m1 -- "$CRASH" "$LOG")'; job FAILED ${took}s later (exit $(job_field "$JOB" ExitCode)); latest = $name, complete"
  ok=1
  say "PASS"
  exit 0
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
if [ "$NODES" -gt 0 ]; then
  # kdprune logs where its ranks are ("mpi over 2 ranks on 2 nodes (node1, node2)").
  grep -q "over $NODES ranks on $NODES nodes" "$LOG" ||
    job_fail "the job's $NODES ranks did not run on $NODES different nodes (see the communicator line)"
  say "ranks on $NODES nodes: $(grep -o "on $NODES nodes ([^)]*)" "$LOG" | head -n 1)"
fi
if [ $SAME_LOSSES -eq 1 ]; then
  ranks=$((NODES > 0 ? NODES : 2))
  command=${SCRIPT%.sbatch}
  say "the same command on this host: mpirun -np $ranks $BIN $command (run directory $WORK/host)"
  # From the checkout, as the job script runs kdprune (configs name paths relative to it).
  (cd "$ROOT" && mpirun --allow-run-as-root --oversubscribe -np "$ranks" --bind-to none "$BIN" \
    "$command" --config "$CONFIG" --set "run_dir=$WORK/host" "${EXTRA[@]}") >"$WORK/host.log" 2>&1 ||
    { cat "$WORK/host.log" >&2; job_fail "the same $command on $ranks ranks of this host failed"; }
  /usr/bin/python3 - "$RUN_DIR/metrics.jsonl" "$WORK/host/metrics.jsonl" <<'PY' ||
import json, sys
def losses(path):  # step -> loss; a requeued run logs some steps twice: the last one counts
    out = {}
    for line in open(path):
        j = json.loads(line)
        if "loss" in j:
            out[j["step"]] = j["loss"]
    return out
job, host = losses(sys.argv[1]), losses(sys.argv[2])
assert job and job.keys() == host.keys(), f"steps differ: job {sorted(job)} host {sorted(host)}"
diff = [(s, job[s], host[s]) for s in sorted(job) if job[s] != host[s]]
assert not diff, f"losses differ (step, job, host): {diff[:5]}"
print(f"slurm_test: {len(job)} steps, losses bitwise equal to the host run (last {job[max(job)]!r})")
PY
    job_fail "losses of job $JOB differ from the same command run on this host"
fi
ok=1
say "PASS"
