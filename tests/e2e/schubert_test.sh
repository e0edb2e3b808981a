#!/usr/bin/env bash
# `kdprune schubert` end to end on real shards and ranks, from a tiny pre-trained teacher:
#   - schuBERT-all on 2 ranks, 2 rounds: every piece of the run directory, the budget met, the
#     per-round log, the decision, and the pruned model read by inspect, fill-mask and eval-mlm;
#   - stopped inside round 1's regularisation and again inside round 2's fine-tuning (exit 85
#     each time) and resumed, it ends with exactly the weights of the uninterrupted run;
#   - variants h, uniform and layers reach their budgets; an unreachable budget, a changed
#     schedule in an existing run_dir and a missing model.dir fail with clear messages.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"

tiny_teacher "$kdprune" "$data" "$work/teacher-run"
common=(--config configs/schubert-quickstart.yaml --set model.dir="$teacher"
        --set "data.train=[\"$data/train/*.h5\"]" --set "data.heldout=[\"$data/heldout/*.h5\"]"
        --set data.batch_size=4 --set data.eval_batches=2 --set train.precision=fp32
        --set schubert.target_fraction=0.9 --set schubert.regularise.steps=2
        --set train.steps=4 --set train.checkpoint_every=2 --set train.keep_checkpoints=5
        --set train.log_every=1 --set train.schedule.warmup_steps=1)

$KD_MPIRUN -np 2 "$kdprune" schubert "${common[@]}" --set run_dir="$work/straight" > "$work/straight.log" 2>&1 ||
  { cat "$work/straight.log"; fail "2-rank schubert failed"; }
for f in schedule.json rounds.jsonl round_00/round.json round_01/decision.json round_01/pruned/config.json \
         round_01/regularise/checkpoints/latest round_02/finetune/checkpoints/latest model/config.json \
         model/model.safetensors model/vocab.txt summary.json; do
  [ -s "$work/straight/$f" ] || fail "run directory lacks $f"
done
grep -q "schubert rounds" "$work/straight.log" || fail "no per-round table"
grep -q "total parameters" "$work/straight.log" || fail "no inspect table of the pruned model"
grep -q "optimizer moments sliced" "$work/straight.log" || fail "round 2 did not slice the moments"
/usr/bin/python3 - "$work/straight" "$teacher" <<'PY' || fail "rounds or budget wrong"
import json, sys
run, teacher = sys.argv[1], sys.argv[2]
rounds = [json.loads(l) for l in open(run + "/rounds.jsonl")]
assert [r["round"] for r in rounds] == [0, 1, 2], rounds
sched = json.load(open(run + "/schedule.json"))
assert rounds[-1]["params"] <= sched["target_params"] < sched["start_params"], (rounds[-1], sched)
assert rounds[1]["params"] <= rounds[1]["round_target"] < rounds[0]["params"]
assert all(0 <= r["heldout_mlm_acc"] <= 1 for r in rounds)
cfg = json.load(open(run + "/model/config.json"))
assert cfg["hidden_size"] < json.load(open(teacher + "/config.json"))["hidden_size"]
decision = json.load(open(run + "/round_01/decision.json"))
assert len(decision["hidden"]) == json.load(open(run + "/round_01/pruned/config.json"))["hidden_size"]
# summary.json: numbers as numbers, the last loss is the last fine-tune step's, the final model
# is run_dir/model with the last round's parameter count.
summary = json.load(open(run + "/summary.json"))
last = [json.loads(l) for l in open(run + "/round_02/finetune/metrics.jsonl")][-1]
assert summary["last_loss"] == last["loss"] and summary["last_loss"] > 0, (summary, last)
assert summary["parameters"] == rounds[-1]["params"] and summary["model"] == run + "/model", summary
assert summary["start_parameters"] == sched["start_params"] == rounds[0]["params"], summary
assert summary["target_parameters"] == sched["target_params"], summary
PY
pruned="$work/straight/model"
"$kdprune" inspect --model "$pruned" > "$work/inspect.txt" || fail "inspect of the pruned model"
grep -q "total parameters" "$work/inspect.txt" || fail "inspect table"
"$kdprune" fill-mask --model "$pruned" --top-k 2 "a dog is a kind of [MASK] ." > "$work/fill.txt"
[ "$(wc -l < "$work/fill.txt")" = 2 ] || fail "fill-mask on the pruned model"
$KD_MPIRUN -np 2 "$kdprune" eval-mlm --model "$pruned" --data "$data/heldout/*.h5" --json "$work/eval.json" \
  > "$work/eval.log" 2>&1 || { cat "$work/eval.log"; fail "eval-mlm on the pruned model"; }
grep -q accuracy "$work/eval.json" || fail "eval-mlm json"
pass "2-rank schubert-all: budget, rounds, inspect/fill-mask/eval-mlm"

# Interrupted twice (steps count across phases: round 1 = 2 + 4 steps), then resumed.
run_stopped() {
  set +e
  $KD_MPIRUN -np 2 "$kdprune" schubert "${common[@]}" --set run_dir="$work/resumed" "$@" > "$work/stop.log" 2>&1
  local code=$?
  set -e
  [ "$code" = 85 ] || { cat "$work/stop.log"; fail "stopped run exited $code, expected 85"; }
}
run_stopped --set debug.stop_after_step=1     # inside round 1's regularisation
[ -e "$work/resumed/round_01/pruned" ] && fail "stopped during regularisation but pruned anyway"
run_stopped --set debug.stop_after_step=9     # round 2: 2 regularise steps, then fine-tune step 1
[ -s "$work/resumed/round_02/pruned/config.json" ] || fail "round 2 should have been pruned before the stop"
$KD_MPIRUN -np 2 "$kdprune" schubert "${common[@]}" --set run_dir="$work/resumed" > "$work/resume.log" 2>&1 ||
  { cat "$work/resume.log"; fail "resumed schubert failed"; }
grep -q "resumed from" "$work/resume.log" || fail "the fine-tune phase did not resume from its checkpoint"
cmp "$work/straight/model/model.safetensors" "$work/resumed/model/model.safetensors" ||
  fail "resumed run's weights differ from the uninterrupted run's"
cmp "$work/straight/round_02/decision.json" "$work/resumed/round_02/decision.json" || fail "decisions differ"
pass "stopped twice and resumed: identical weights"

# Other variants, one rank, one round.
# (the teacher is mostly embeddings: one of its 2 layers is under 1% of the parameters)
for variant in h uniform layers; do
  fraction=0.9; [ $variant = layers ] && fraction=0.995
  "$kdprune" schubert "${common[@]}" --set schubert.variant=$variant --set schubert.rounds=1 \
    --set schubert.target_fraction=$fraction \
    --set run_dir="$work/$variant" > "$work/$variant.log" 2>&1 || { cat "$work/$variant.log"; fail "variant $variant"; }
  /usr/bin/python3 - "$work/$variant" <<'PY' || fail "variant over budget"
import json, sys
s = json.load(open(sys.argv[1] + "/schedule.json"))
r = [json.loads(l) for l in open(sys.argv[1] + "/rounds.jsonl")]
assert r[-1]["params"] <= s["target_params"], (r[-1], s)
PY
done
grep -q "layers=1" "$work/layers.log" || fail "layers variant should keep 1 of 2 layers"
pass "variants h, uniform, layers"

# Clear failures.
expect_fail() {  # expect_fail PATTERN ARGS...: the command fails and says PATTERN
  local pattern="$1"; shift
  if "$kdprune" schubert "${common[@]}" "$@" > "$work/bad.log" 2>&1; then fail "accepted: $*"; fi
  grep -q "$pattern" "$work/bad.log" || { cat "$work/bad.log"; fail "no '$pattern' for: $*"; }
}
expect_fail "cannot reach" --set schubert.variant=layers --set run_dir="$work/bad1"
expect_fail "another schedule" --set schubert.rounds=3 --set run_dir="$work/straight"
expect_fail "model.dir is empty" --set model.dir= --set run_dir="$work/bad2"
expect_fail "model.vocab: cannot read" --set model.vocab="$work/no-vocab.txt" --set run_dir="$work/bad3"
expect_fail "config.json" --set model.dir="$work/no-model" --set run_dir="$work/bad4"
pass "bad budgets and schedules are refused"
