#!/usr/bin/env bash
# Exact resume: a 2-rank run stopped after step 8 (the same path as SIGUSR1: checkpoint, exit
# 85) and resumed with `resume: auto` must produce the same per-step losses as an uninterrupted
# run (dropout on, so the RNG state and data cursor must be restored too). Then a real SIGUSR1
# sent to mpirun mid-run must checkpoint and exit 85, and resuming must finish the run.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
common=(--config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]" --set train.steps=16
        --set train.checkpoint_every=0)

$KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set run_dir="$work/straight" > "$work/straight.log" 2>&1 ||
  { cat "$work/straight.log"; fail "uninterrupted run failed"; }

set +e
$KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set run_dir="$work/resumed" \
  --set debug.stop_after_step=8 > "$work/part1.log" 2>&1
code=$?
set -e
[ "$code" = 85 ] || { cat "$work/part1.log"; fail "stopped run exited $code, expected 85"; }
[ -d "$work/resumed/checkpoints/step_00000008" ] || fail "no checkpoint at step 8"
$KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set run_dir="$work/resumed" > "$work/part2.log" 2>&1 ||
  { cat "$work/part2.log"; fail "resumed run failed"; }
grep -q "resumed from" "$work/part2.log" || fail "second run did not resume"

losses "$work/straight/metrics.jsonl" > "$work/straight.losses"
losses "$work/resumed/metrics.jsonl" > "$work/resumed.losses"
[ "$(wc -l < "$work/straight.losses")" = 16 ] || fail "expected 16 logged steps"
if ! diff "$work/straight.losses" "$work/resumed.losses"; then
  fail "per-step losses differ between the uninterrupted and the resumed run"
fi
pass "stop at 8 + resume reproduces all 16 per-step losses exactly"

# A crash (rank 1 throws during step 11) after the checkpoint at step 8: the resumed run redoes
# steps 9-16; metrics.jsonl must hold each step once, with the uninterrupted run's losses.
set +e
$KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set run_dir="$work/crashed" \
  --set train.checkpoint_every=4 --set debug.fail_rank=1 --set debug.fail_step=10 > "$work/crash1.log" 2>&1
code=$?
set -e
[ "$code" != 0 ] || fail "the injected crash did not fail the run"
[ "$(wc -l < "$work/crashed/metrics.jsonl")" = 10 ] || fail "expected 10 logged steps before the crash"
$KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set run_dir="$work/crashed" \
  --set train.checkpoint_every=4 > "$work/crash2.log" 2>&1 || { cat "$work/crash2.log"; fail "resume after crash failed"; }
grep -q "resumed from .*step_00000008 at step 8" "$work/crash2.log" || fail "did not resume from step 8"
losses "$work/crashed/metrics.jsonl" > "$work/crashed.losses"
diff "$work/straight.losses" "$work/crashed.losses" || fail "losses after crash + resume differ"
pass "crash at step 11 + resume from step 8 reproduces all 16 per-step losses, each once"

# A real signal: mpirun forwards SIGUSR1 to the ranks.
$KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set train.steps=100000 \
  --set run_dir="$work/signal" > "$work/signal.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  [ -s "$work/signal/metrics.jsonl" ] && break; sleep 0.5
done
kill -USR1 "$pid"
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 85 ] || { cat "$work/signal.log"; fail "signalled run exited $code, expected 85"; }
ls -d "$work"/signal/checkpoints/step_* > /dev/null || fail "no checkpoint after SIGUSR1"
pass "SIGUSR1 → checkpoint + exit 85"
