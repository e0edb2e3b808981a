#!/usr/bin/env bash
# `kdprune distill` end to end on real shards and ranks: a tiny teacher is pre-trained, then
#   - Tutor-KD on 2 ranks logs every term, exports a student model directory and scores it on
#     the held-out shard; fill-mask, inspect and eval-mlm read the student;
#   - stopped at step 4 and resumed, it gives the same 8 per-step losses as an uninterrupted
#     run (tutor sampling, dropout, data cursor, tutor and heads all restored);
#   - the kd, minilm and mlm baselines, the generator tutor and the variants of r_T, the tutor
#     head's init and the reward run;
#   - eval-mlm on 2 ranks equals eval-mlm on 1 rank; bad configs fail with clear messages.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"

tiny_teacher "$kdprune" "$data" "$work/teacher-run"
common=(--config configs/test-distill.yaml --set teacher.dir="$teacher"
        --set "data.train=[\"$data/train/*.h5\"]" --set "data.heldout=[\"$data/heldout/*.h5\"]")

$KD_MPIRUN -np 2 "$kdprune" distill "${common[@]}" --set run_dir="$work/straight" > "$work/straight.log" 2>&1 ||
  { cat "$work/straight.log"; fail "2-rank tutor_kd failed"; }
grep -q "distill summary" "$work/straight.log" || fail "no summary"
grep -q "heldout_mlm_acc" "$work/straight.log" || fail "no held-out evaluation in the summary"
/usr/bin/python3 - "$work/straight/metrics.jsonl" <<'PY' || fail "metrics lack a Tutor-KD term"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 8
for k in ["logit", "hidden", "attention", "mlm", "policy", "kl", "reward_teacher", "reward_student",
          "replaced", "student_loss", "tutor_loss", "student_mlm_acc"]:
    assert all(k in l for l in lines), k
assert all(0 < l["replaced"] <= 1 for l in lines)
PY
student="$work/straight/model"
for f in config.json model.safetensors vocab.txt; do [ -s "$student/$f" ] || fail "student lacks $f"; done
"$kdprune" inspect --model "$student" | grep -q "16" || fail "inspect of the student"
"$kdprune" fill-mask --model "$student" --top-k 2 "a dog is a kind of [MASK] ." > "$work/fill.txt"
[ "$(wc -l < "$work/fill.txt")" = 2 ] || fail "fill-mask on the student"

# Exact resume.
set +e
$KD_MPIRUN -np 2 "$kdprune" distill "${common[@]}" --set run_dir="$work/resumed" \
  --set debug.stop_after_step=4 > "$work/part1.log" 2>&1
code=$?
set -e
[ "$code" = 85 ] || { cat "$work/part1.log"; fail "stopped run exited $code, expected 85"; }
[ -s "$work/resumed/checkpoints/step_00000004/distill_modules.safetensors" ] || fail "no tutor state in the checkpoint"
$KD_MPIRUN -np 2 "$kdprune" distill "${common[@]}" --set run_dir="$work/resumed" > "$work/part2.log" 2>&1 ||
  { cat "$work/part2.log"; fail "resumed run failed"; }
grep -q "resumed from" "$work/part2.log" || fail "second run did not resume"
losses "$work/straight/metrics.jsonl" > "$work/straight.losses"
losses "$work/resumed/metrics.jsonl" > "$work/resumed.losses"
diff "$work/straight.losses" "$work/resumed.losses" || fail "resumed distillation diverged"

# Baselines and the generator tutor (1 rank, 3 steps).
for variant in "distill.method=kd" "distill.method=mlm" "distill.method=minilm" "tutor.kind=generator" \
               "distill.student_ratio=probs" "distill.teacher_ratio=pseudo" "tutor.head_init=teacher" \
               "distill.reward=teacher"; do
  name="${variant//[=.]/_}"
  "$kdprune" distill "${common[@]}" --set "$variant" --set train.steps=3 --set run_dir="$work/$name" \
    > "$work/$name.log" 2>&1 || { cat "$work/$name.log"; fail "distill --set $variant failed"; }
  grep -q "heldout_mlm_acc" "$work/$name.log" || fail "$variant: no evaluation"
done
grep -q '"kd"' "$work/distill_method_kd/metrics.jsonl" || fail "kd baseline does not log its KD term"
grep -q '"minilm"' "$work/distill_method_minilm/metrics.jsonl" || fail "minilm does not log its relation term"

# eval-mlm: 2 ranks give the 1-rank numbers (batch 1: nothing left out on either).
"$kdprune" eval-mlm --model "$student" --data "$data/heldout/*.h5" --batch-size 1 --json "$work/e1.json" > "$work/e1.log" 2>&1 ||
  { cat "$work/e1.log"; fail "eval-mlm failed"; }
$KD_MPIRUN -np 2 "$kdprune" eval-mlm --model "$student" --data "$data/heldout/*.h5" --batch-size 1 --json "$work/e2.json" > "$work/e2.log" 2>&1 ||
  { cat "$work/e2.log"; fail "2-rank eval-mlm failed"; }
/usr/bin/python3 - "$work/e1.json" "$work/e2.json" <<'PY' || fail "eval-mlm on 2 ranks differs from 1 rank"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["instances"] == a["total_instances"] == b["instances"], (a, b)
assert a["masked"] == b["masked"] and a["masked"] > 0
assert abs(a["accuracy"] - b["accuracy"]) < 1e-9 and abs(a["loss"] - b["loss"]) < 1e-4, (a, b)
assert b["ranks"] == 2
PY

# Bad configs.
set +e
"$kdprune" distill "${common[@]}" --set teacher.dir="$work/nope" --set run_dir="$work/bad1" > "$work/bad1.log" 2>&1; c1=$?
"$kdprune" distill "${common[@]}" --set distill.method=magic --set run_dir="$work/bad2" > "$work/bad2.log" 2>&1; c2=$?
"$kdprune" distill "${common[@]}" --set "distill.layer_map=[9]" --set run_dir="$work/bad3" > "$work/bad3.log" 2>&1; c3=$?
# Held-out shards are read only at the end: a wrong glob must still fail before the first step.
"$kdprune" distill "${common[@]}" --set "data.heldout=[\"$work/none/*.h5\"]" --set run_dir="$work/bad4" > "$work/bad4.log" 2>&1; c4=$?
# An old key name is refused with the new one.
"$kdprune" distill "${common[@]}" --set teacher.model="$teacher" --set run_dir="$work/bad5" > "$work/bad5.log" 2>&1; c5=$?
set -e
[ "$c1" != 0 ] && grep -q "nope" "$work/bad1.log" || fail "missing teacher not reported"
[ "$c2" != 0 ] && grep -q "distill.method" "$work/bad2.log" || fail "bad method not reported"
[ "$c3" != 0 ] && grep -q "layer_map" "$work/bad3.log" || fail "bad layer map not reported"
[ "$c4" != 0 ] && grep -q "data.heldout: '$work/none/\*.h5' matches no file" "$work/bad4.log" ||
  { cat "$work/bad4.log"; fail "a wrong data.heldout not reported at start"; }
[ ! -e "$work/bad4/metrics.jsonl" ] || fail "a wrong data.heldout was found only after training"
[ "$c5" != 0 ] && grep -q "'teacher.model' was renamed; write 'teacher.dir'" "$work/bad5.log" ||
  { cat "$work/bad5.log"; fail "the old name teacher.model not refused with a hint"; }
pass "distill: tutor_kd on 2 ranks, exact resume, baselines, eval-mlm 1 vs 2 ranks, errors"
