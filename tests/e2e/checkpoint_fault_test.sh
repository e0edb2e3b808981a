#!/usr/bin/env bash
# Checkpoints survive crashes (issue 16).
#  1. Fault injection at every point of writing a checkpoint (debug.checkpoint_fault: rank 0
#     killed by SIGKILL right after the model, the optimizer, the config, the trainer state
#     (before the rename), the rename (before `latest` moves), `latest`), 2 ranks: `latest`
#     names a complete checkpoint, the resume starts from the newest complete one and its losses
#     equal an uninterrupted run's, bit for bit.
#  2. kill -9 at random times, KD_FAULT_TRIALS times (default 50), one run directory that a
#     checkpoint every step keeps busy: after every kill `latest` names a complete checkpoint and
#     the next start resumes from the newest complete one; after the last trial the run is taken
#     to a fixed step and its losses equal those of an uninterrupted run.
# The outcome table goes to WORK/trials.txt (the README's reliability table).
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
trials=${KD_FAULT_TRIALS:-50}
common=(--config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]"
  --set train.schedule.warmup_steps=0)

# complete_latest RUN: prints the step `latest` names, failing unless that checkpoint is complete.
complete_latest() {
  local ck="$1/checkpoints" name
  [ -f "$ck/latest" ] || { echo none; return; }
  name=$(tr -d '\n' < "$ck/latest")
  [ -s "$ck/$name/trainer_state.json" ] && [ -s "$ck/$name/model/model.safetensors" ] &&
    [ -s "$ck/$name/optimizer.safetensors" ] || fail "'latest' names $name, which is not complete"
  echo "${name#step_}" | sed 's/^0*//'
}
# newest_complete RUN: the newest step_N directory holding trainer_state.json (0 if none).
newest_complete() {
  local d n best=0
  for d in "$1"/checkpoints/step_*; do
    n=${d##*/step_}
    [[ "$n" =~ ^[0-9]+$ ]] && [ -s "$d/trainer_state.json" ] || continue
    n=$((10#$n)); [ "$n" -gt "$best" ] && best=$n
  done
  echo "$best"
}
same_losses() {  # RUN REFERENCE
  diff <(losses "$1/metrics.jsonl") <(losses "$2/metrics.jsonl") > /dev/null ||
    { diff <(losses "$1/metrics.jsonl") <(losses "$2/metrics.jsonl") | head; fail "$1: losses differ from $2"; }
}

# ---- 1. every point of a checkpoint's writing, 2 ranks ---------------------------------------
$KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set train.steps=6 --set train.checkpoint_every=2 \
  --set run_dir="$work/reference" > "$work/reference.log" 2>&1 || { cat "$work/reference.log"; fail "reference run"; }
for point in model optimizer config state renamed latest; do
  run="$work/point-$point"
  set +e
  timeout 120 $KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set train.steps=6 \
    --set train.checkpoint_every=2 --set run_dir="$run" --set debug.checkpoint_fault=$point \
    --set debug.checkpoint_fault_step=4 > "$run.log" 2>&1
  code=$?
  set -e
  [ "$code" != 0 ] && [ "$code" != 124 ] || { cat "$run.log"; fail "$point: exit $code, expected a killed job"; }
  latest=$(complete_latest "$run")
  case $point in renamed | latest) expect=4 ;; *) expect=2 ;; esac
  [ "$(newest_complete "$run")" = "$expect" ] || fail "$point: newest complete checkpoint is not step $expect"
  $KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set train.steps=6 --set train.checkpoint_every=2 \
    --set run_dir="$run" > "$run-resume.log" 2>&1 || { cat "$run-resume.log"; fail "$point: resume failed"; }
  grep -q "resumed from .*step_0000000$expect at step $expect" "$run-resume.log" ||
    { cat "$run-resume.log"; fail "$point: did not resume from step $expect"; }
  same_losses "$run" "$work/reference"
  pass "$point: killed after it; latest = step $latest (complete), resumed from step $expect, losses == uninterrupted"
done

# ---- 2. kill -9 at random times --------------------------------------------------------------
run="$work/random"
long=(--set train.steps=100000 --set train.checkpoint_every=1 --set train.keep_checkpoints=2
  --set train.log_every=1 --set run_dir="$run")
during=0; between=0; resumed_ok=0
for i in $(seq "$trials"); do
  before=$(newest_complete "$run")
  "$kdprune" pretrain "${common[@]}" "${long[@]}" > "$work/trial-$i.log" 2>&1 &
  pid=$!
  # Kill once this start has trained a step past its checkpoint, after a random 0-400 ms.
  for _ in $(seq 600); do
    [ "$(newest_complete "$run")" -gt "$before" ] && break
    kill -0 $pid 2>/dev/null || { cat "$work/trial-$i.log"; fail "trial $i: the job ended by itself"; }
    sleep 0.05
  done
  sleep "0.$(printf '%03d' $((RANDOM % 400)))"
  kill -9 $pid
  wait $pid 2>/dev/null || true
  if compgen -G "$run/checkpoints/step_*.tmp" > /dev/null; then during=$((during + 1)); else between=$((between + 1)); fi
  complete_latest "$run" > /dev/null
  expect=$(newest_complete "$run")
  if [ "$i" -gt 1 ]; then
    grep -q "resumed from .*step_$(printf '%08d' "$prev") at step $prev" "$work/trial-$i.log" ||
      { cat "$work/trial-$i.log"; fail "trial $i did not resume from step $prev"; }
    resumed_ok=$((resumed_ok + 1))
  fi
  prev=$expect
done
final=$((prev + 2))
"$kdprune" pretrain "${common[@]}" "${long[@]}" --set debug.stop_after_step=$final \
  > "$work/final.log" 2>&1 || [ $? = 85 ] || { cat "$work/final.log"; fail "final resume failed"; }
grep -q "resumed from .*step_$(printf '%08d' "$prev") at step $prev" "$work/final.log" ||
  fail "the final start did not resume from step $prev"
resumed_ok=$((resumed_ok + 1))
"$kdprune" pretrain "${common[@]}" "${long[@]}" --set run_dir="$work/random-reference" \
  --set debug.stop_after_step=$final > "$work/random-reference.log" 2>&1 || [ $? = 85 ] ||
  fail "uninterrupted reference failed"
same_losses "$run" "$work/random-reference"
{
  echo "kill -9 at random times: $trials trials, $during during a checkpoint write (a .tmp directory left), $between between writes"
  echo "latest named a complete checkpoint after all $trials; $resumed_ok of $trials resumes started from the newest complete one"
  echo "after the last trial: $final steps, losses bitwise equal to an uninterrupted run of $final steps"
} | tee "$work/trials.txt"
pass "random kills: $trials trials, every resume exact"
