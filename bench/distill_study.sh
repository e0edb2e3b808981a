#!/usr/bin/env bash
# Issue 17's distillation study on the long profile's teacher (runs/long/pretrain/model, 4 x 256;
# run `bash launch/quickstart.sh --profile long` first). configs/distill-quickstart.yaml's 2 x 128
# student on 2 ranks, on the long profile's shards (64 tokens, batch 32 per rank), by:
#   tutor_masked  Tutor-KD, r_T from the teacher on the masked input X^M (the released code)
#   tutor_pseudo  Tutor-KD, r_T from the teacher on the pseudo sample X'
#   minilm        MiniLMv2 (the student's last layer <- the teacher's last layer's relations)
#   kd            plain KD (logits + hidden states + attention)
#   mlm           MLM only
# over 3 seeds (each seed: the student's init and the data order), at two budgets:
#   steps  every method STEPS steps;
#   time   minilm, kd and mlm get the steps that fill tutor_masked's training time of seed 1
#          (steps x its train_seconds / theirs, from seed 1's equal-step runs; equal_time.json).
# Judged by held-out MLM accuracy over runs/long/data/heldout (distill's end-of-run eval), WordNet
# probe P@1 (eval-probe, runs/quickstart/probes/test) and fine-tuning on the embedded tasks
# (configs/finetune-embedded.yaml, finetune seed 1 for every student: the spread is over the
# distillation seeds). Finished runs are kept, so a re-run continues where it stopped.
#   bash bench/distill_study.sh [STEPS]   (default 200: 54 min on 2 cores)
# KD_STUDY_SEEDS (default "1 2 3") and KD_STUDY_TASKS (default "spam wn_supersense wn_gloss_pair
# gcide_fields") narrow it, e.g. for a quick check of the script.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
steps="${1:-200}"
build="${KD_BUILD_DIR:-$root/build}"
long=runs/long
out="$long/distill-study-$steps"
teacher="$long/pretrain/model"
probes=runs/quickstart/probes
[ -f "$teacher/config.json" ] || { echo "distill_study: no teacher at $teacher; run launch/quickstart.sh --profile long first" >&2; exit 2; }
[ -d "$long/tasks/spam" ] || { echo "distill_study: no tasks in $long/tasks; run launch/quickstart.sh --profile long first" >&2; exit 2; }
[ -d "$probes/test" ] || "$build/kdprune-prep" probes --source wordnet --out "$probes" \
  --vocab data/vocab/bert-base-uncased-vocab.txt > /dev/null
mkdir -p "$out"
start=$(date +%s)

declare -A method=([tutor_masked]=tutor_kd [tutor_pseudo]=tutor_kd [minilm]=minilm [kd]=kd [mlm]=mlm)
variants=(tutor_masked tutor_pseudo minilm kd mlm)

distil() {  # distil VARIANT SEED STEPS RUN_DIR
  local variant="$1" seed="$2" n="$3" run="$4" extra=()
  case "$variant" in
    tutor_masked) extra=(--set distill.teacher_ratio=masked) ;;
    tutor_pseudo) extra=(--set distill.teacher_ratio=pseudo) ;;
  esac
  if [ -f "$run/summary.json" ] && [ "$(launch/summary_field "$run" end_step)" = "$n" ]; then return; fi
  echo "== $variant, seed $seed, $n steps -> $run ($(( $(date +%s) - start )) s)"
  mkdir -p "$(dirname "$run")"
  launch/run-local -n 2 -- "$build/kdprune" distill --config configs/distill-quickstart.yaml \
    --set teacher.dir="$teacher" --set "data.train=[\"$long/data/train/*.h5\"]" \
    --set "data.heldout=[\"$long/data/heldout/*.h5\"]" --set data.batch_size=32 --set seed="$seed" \
    --set distill.method="${method[$variant]}" "${extra[@]}" \
    --set train.steps="$n" --set train.schedule.warmup_steps=$((n / 10)) --set train.log_every=50 \
    --set train.checkpoint_every="$n" --set run_dir="$run" > "$run.log" 2>&1 || { tail -20 "$run.log"; exit 1; }
}

runs=()
for seed in ${KD_STUDY_SEEDS:-1 2 3}; do
  for variant in "${variants[@]}"; do
    distil "$variant" "$seed" "$steps" "$out/s$seed/$variant-steps"
    runs+=("$out/s$seed/$variant-steps")
  done
  if [ ! -f "$out/equal_time.json" ]; then  # from seed 1: every later seed uses the same steps
    /usr/bin/python3 - "$out/s1" "$steps" > "$out/equal_time.json" <<'PY'
import json, sys
d, steps = sys.argv[1], int(sys.argv[2])
secs = {v: json.load(open(f"{d}/{v}-steps/summary.json"))["train_seconds"]
        for v in ("tutor_masked", "minilm", "kd", "mlm")}
print(json.dumps({"budget_s": secs["tutor_masked"], "train_seconds_at_equal_steps": secs,
                  "steps": {v: round(steps * secs["tutor_masked"] / secs[v])
                            for v in ("minilm", "kd", "mlm")}}, indent=1))
PY
  fi
  for variant in minilm kd mlm; do
    n=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"][sys.argv[2]])' \
      "$out/equal_time.json" "$variant")
    distil "$variant" "$seed" "$n" "$out/s$seed/$variant-time"
    runs+=("$out/s$seed/$variant-time")
  done
done
echo "distillation done ($(( $(date +%s) - start )) s)"

probe() {  # probe MODEL_DIR JSON
  [ -f "$2" ] || launch/run-local -n 2 -- "$build/kdprune" eval-probe --model "$1" --precision bf16 \
    --probes "$probes/test" --json "$2" > /dev/null
}
[ -f "$out/teacher-eval.json" ] || launch/run-local -n 2 -- "$build/kdprune" eval-mlm --model "$teacher" \
  --precision bf16 --data "$long/data/heldout/*.h5" --json "$out/teacher-eval.json" > /dev/null
probe "$teacher" "$out/teacher-probe.json"
for run in "${runs[@]}"; do probe "$run/model" "$run/probe.json"; done
echo "probes done ($(( $(date +%s) - start )) s)"

# One finetune over every student and the teacher; labels name the run (s1/kd-time -> s1.kd-time).
join() { local IFS=,; echo "$*"; }
models=("\"$teacher\""); labels=(teacher)
for run in "${runs[@]}"; do models+=("\"$run/model\""); labels+=("$(basename "$(dirname "$run")").$(basename "$run")"); done
tasks=()
for task in ${KD_STUDY_TASKS:-spam wn_supersense wn_gloss_pair gcide_fields}; do tasks+=("\"$long/tasks/$task\""); done
if [ ! -f "$out/finetune/finetune_report.json" ]; then
  launch/run-local -n 2 -- "$build/kdprune" finetune --config configs/finetune-embedded.yaml \
    --set "finetune.models=[$(join "${models[@]}")]" --set "finetune.labels=[$(join "${labels[@]}")]" \
    --set "finetune.tasks=[$(join "${tasks[@]}")]" \
    --set "finetune.seeds=[1]" --set run_dir="$out/finetune" > "$out/finetune.log" 2>&1 ||
    { tail -20 "$out/finetune.log"; exit 1; }
fi
echo "fine-tuning done ($(( $(date +%s) - start )) s)"
/usr/bin/python3 launch/distill_table.py "$out" | tee "$out/table.md"
