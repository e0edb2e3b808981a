#!/usr/bin/env bash
# Tutor-KD vs plain KD vs MLM-only (and Tutor-KD rewriting half of the masked positions) at
# equal steps on the embedded default: the quickstart's teacher and shards (run
# `bash launch/quickstart.sh` first), 2 ranks, configs/distill-quickstart.yaml, then the
# held-out MLM table (the same masked positions for every model).
#   bash bench/compare_distill.sh [STEPS]   (default 400; ~25 min on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
steps="${1:-400}"
bin="${KD_BUILD_DIR:-$root/build}/kdprune"
qs=runs/quickstart
out="runs/compare-distill-$steps"
teacher="$(launch/summary_field "$qs/pretrain" model 2>/dev/null || echo "$qs/pretrain/model")"
[ -f "$teacher/config.json" ] || { echo "compare_distill: no teacher at $teacher; run launch/quickstart.sh first" >&2; exit 2; }
mkdir -p "$out"
runs=()
for variant in "tutor_kd 1.0" "kd 1.0" "mlm 1.0" "tutor_kd 0.5"; do
  set -- $variant
  run="$out/$1-$2"
  runs+=("$run")
  echo "== $1 (replace_fraction $2), $steps steps -> $run"
  launch/run-local -n 2 -- "$bin" distill --config configs/distill-quickstart.yaml \
    --set teacher.dir="$teacher" --set distill.method="$1" --set tutor.replace_fraction="$2" \
    --set train.steps="$steps" --set train.schedule.warmup_steps=$((steps / 10)) \
    --set run_dir="$run" > "$run.log" 2>&1 || { tail -20 "$run.log"; exit 1; }
done
launch/run-local -n 2 -- "$bin" eval-mlm --model "$teacher" --precision bf16 \
  --data "$qs/data/heldout/*.h5" --json "$out/teacher-eval.json" > /dev/null
[ -d "$qs/probes/test" ] || "$root/build/kdprune-prep" probes --source wordnet --out "$qs/probes" \
  --vocab data/vocab/bert-base-uncased-vocab.txt > /dev/null
probe() {  # probe MODEL_DIR JSON
  launch/run-local -n 2 -- "$bin" eval-probe --model "$1" --precision bf16 \
    --probes "$qs/probes/test" --json "$2" > /dev/null
}
probe "$teacher" "$out/teacher-probe.json"
for run in "${runs[@]}"; do probe "$(launch/summary_field "$run" model)" "$run/probe.json"; done
/usr/bin/python3 launch/students_table.py "$out/teacher-eval.json" "${runs[@]}"
