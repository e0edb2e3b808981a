#!/usr/bin/env bash
# One failing rank ends the whole 2-rank job within seconds with that rank's message: an
# exception on rank 1, a non-finite loss on rank 1, and a corrupt shard. A rank killed (SIGKILL)
# or crashed (SIGSEGV) mid-step, or stuck so that the others wait in a collective past
# dist.timeout_s, ends every rank within 30 s with a message naming it; the last checkpoint
# survives and resumes. A second SIGTERM ends ranks that the first could not stop.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
common=(--config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]" --set train.steps=1000)

expect_failure() {  # name, expected message, args...
  local name="$1" message="$2"; shift 2
  local start=$(date +%s)
  set +e
  timeout 120 $KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set run_dir="$work/$name" "$@" \
    > "$work/$name.log" 2>&1
  local code=$?
  set -e
  local took=$(( $(date +%s) - start ))
  [ "$code" != 0 ] || fail "$name: job succeeded but should have failed"
  [ "$code" != 124 ] || { cat "$work/$name.log"; fail "$name: job hung (killed by timeout)"; }
  # Lines folded: Open MPI 5's prterun wraps "... exited on" / "signal 9 (Killed)." over two.
  tr '\n' ' ' < "$work/$name.log" | grep -q -- "$message" ||
    { cat "$work/$name.log"; fail "$name: message '$message' missing"; }
  [ "$took" -lt "${limit:-60}" ] || fail "$name: took ${took}s to end (limit ${limit:-60}s)"
  pass "$name: exit $code after ${took}s with '$message'"
}

expect_failure exception "injected failure at step 3.*rank 1/2" --set debug.fail_rank=1 --set debug.fail_step=3
expect_failure nonfinite "non-finite loss at step 3" --set debug.fail_rank=1 --set debug.fail_step=2 \
  --set debug.fail_kind=nan
head -c 4096 /dev/urandom > "$work/corrupt.h5"
expect_failure corrupt_shard "corrupt.h5" --set "data.train=[\"$data/train/*.h5\",\"$work/corrupt.h5\"]"
expect_failure bad_config "unknown key 'train.stepz'" --set train.stepz=3

limit=30
expect_failure killed "process rank 1 .* exited on signal 9" --set train.checkpoint_every=2 \
  --set debug.fail_rank=1 --set debug.fail_step=5 --set debug.fail_kind=kill
$KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set run_dir="$work/killed" --set train.steps=8 \
  > "$work/killed-resume.log" 2>&1 || { cat "$work/killed-resume.log"; fail "resume after kill -9 failed"; }
grep -q "resumed from .*step_00000004 at step 4" "$work/killed-resume.log" ||
  fail "resume after kill -9 did not start from the last checkpoint (step 4)"
pass "killed: the checkpoint of step 4 was intact and the job resumed from it to step 8"
expect_failure segv "FATAL \[rank 1/2 on .*\]: received SIGSEGV .* at training step 4" \
  --set debug.fail_rank=1 --set debug.fail_step=3 --set debug.fail_kind=segv
expect_failure stuck_rank "dist.timeout_s = 8 s" --set dist.timeout_s=8 --set dist.stall_warn_s=2 \
  --set debug.fail_rank=1 --set debug.fail_step=3 --set debug.fail_kind=hang
grep -q "warning \[watchdog\] rank 0 (.*) has waited [0-9]* s in .* at step 4; stall inspector.*not arrived): 1 (" \
  "$work/stuck_rank.log" || { cat "$work/stuck_rank.log"; fail "stuck_rank: no stall report naming rank 1"; }
pass "stuck_rank: the stall report named rank 1 as not arrived at step 4"

# Second SIGTERM: rank 1 never arrives and the deadline is off, so the first SIGTERM (a flag the
# step polls) cannot stop the job; the second takes the default action.
run="$work/term_twice"
timeout 120 $KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set run_dir="$run" \
  --set dist.timeout_s=0 --set debug.fail_rank=1 --set debug.fail_step=3 --set debug.fail_kind=hang \
  > "$run.log" 2>&1 &
job=$!
for _ in $(seq 240); do grep -q "step 3/" "$run.log" 2>/dev/null && break; sleep 0.5; done
sleep 1
ranks=$(pgrep -f "^[^ ]*kdprune pretrain .*$run") || fail "term_twice: rank processes not found"
kill -TERM $ranks
sleep 3
kill -0 $job 2>/dev/null || { cat "$run.log"; fail "term_twice: the first SIGTERM already ended the job"; }
start=$(date +%s)
kill -TERM $ranks 2>/dev/null || true
set +e; wait $job; code=$?; set -e
took=$(( $(date +%s) - start ))
[ "$code" != 0 ] && [ "$code" != 124 ] || { cat "$run.log"; fail "term_twice: exit $code"; }
[ "$took" -lt 30 ] || fail "term_twice: took ${took}s after the second SIGTERM"
pass "term_twice: the second SIGTERM ended the stuck job in ${took}s (exit $code)"
