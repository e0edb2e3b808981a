#!/usr/bin/env bash
# Prompt tuning vs model tuning (issue 17, Lester et al.) on the embedded SpamAssassin task at two
# model sizes: the long profile's teacher (4 × 256) and a 2 × 128 BERT pre-trained the same way
# (configs/teacher-long.yaml, same data and steps). Per model:
#   - prompt tuning of the frozen model (configs/prompt-task-spam.yaml): prompt lengths 1, 5, 20,
#     100, each an ensemble of 3 class-label-initialised prompts trained in their own data order
#     (members that differ by seed), 300 steps of 16;
#   - model tuning: kdprune finetune of the same model (classifier head, all weights; the
#     embedded recipe, 2 epochs of 3,000), seeds 1-3.
# Both see the same first 23 tokens of each mail (what a 100-vector prompt leaves of 128
# positions). Then launch/lester_table.py prints the table (test F1, mean ± sd over 3 seeds).
#   bash bench/lester_compare.sh [RUNS]     RUNS defaults to runs/long
# Needs `bash launch/quickstart.sh --profile long` first (RUNS/pretrain/model, RUNS/tasks).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="${KD_BUILD_DIR:-$root/build}/kdprune"
runs="${1:-runs/long}"
task="$runs/tasks/spam"
[ -f "$runs/pretrain/model/config.json" ] && [ -f "$task/task.json" ] ||
  { echo "lester_compare: needs $runs/pretrain/model and $task (bash launch/quickstart.sh --profile long)" >&2; exit 2; }
out="$runs/lester"
mkdir -p "$out"
small="$runs/pretrain-small"
for label in teacher small; do
  model="$runs/pretrain/model"
  [ "$label" = small ] && model="$small/model"
  if [ "$label" = small ] && [ ! -f "$small/model/config.json" ]; then
    echo "== pre-training the 2 x 128 model on the long profile's data ($small)"
    start=$(date +%s)
    launch/run-local -n 2 -- "$bin" pretrain --config configs/teacher-long.yaml --set run_dir="$small" \
      --set "data.train=[\"$runs/data/train/*.h5\"]" --set model.hidden_size=128 --set model.num_layers=2 \
      --set model.num_heads=2 --set model.intermediate_size=512 > "$small.log" 2>&1 || { tail -20 "$small.log"; exit 1; }
    echo "   done in $(( $(date +%s) - start )) s"
  fi
  if [ ! -f "$out/$label-prompt/prompt_task_report.json" ]; then
    echo "== prompt tuning, $label ($model)"
    launch/run-local -n 2 -- "$bin" prompt-task --config configs/prompt-task-spam.yaml \
      --set model.dir="$model" --set task.dir="$task" --set run_dir="$out/$label-prompt" \
      > "$out/$label-prompt.log" 2>&1 || { tail -20 "$out/$label-prompt.log"; exit 1; }
  fi
  if [ ! -f "$out/$label-model/finetune_report.json" ]; then
    echo "== model tuning, $label ($model)"
    launch/run-local -n 2 -- "$bin" finetune --config configs/finetune-embedded.yaml \
      --set "finetune.models=[\"$model\"]" --set "finetune.labels=[$label]" \
      --set "finetune.tasks=[\"$task\"]" --set finetune.max_seq_length=25 --set run_dir="$out/$label-model" \
      > "$out/$label-model.log" 2>&1 || { tail -20 "$out/$label-model.log"; exit 1; }
  fi
done
python3 launch/lester_table.py "$out" teacher small
