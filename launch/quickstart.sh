#!/usr/bin/env bash
# The main job on the embedded default data, from a fresh machine:
#   1. installs the Debian packages and builds kdprune (skipped when up to date)
#   2. builds the default corpus from WordNet + GCIDE and turns it into HDF5 shards
#      (skipped when runs/quickstart/data exists)
#   3. pre-trains a small BERT, the teacher, on 2 MPI ranks (configs/quickstart.yaml; resumes if
#      interrupted) and asks it a few fill-mask questions
#   4. distils it into a smaller student three ways at equal steps (configs/distill-quickstart.yaml):
#      Tutor-KD, plain KD and MLM-only, each scored on the held-out shard and the WordNet probes,
#      and prints the comparison
#   5. probes the teacher per WordNet relation: LAMP masks (configs/relmask-quickstart.yaml), soft
#      prompt ensembles (configs/prompt-quickstart.yaml), and the side-by-side table of manual
#      template, soft prompt, ensemble and mask; the specialisation matrix as a PNG
#   6. prunes the teacher with schuBERT-all to 85% of its parameters in 2 rounds
#      (configs/schubert-quickstart.yaml): per-round log, the pruned model's per-layer table, a
#      PNG of the surviving dimensions
#   7. builds the embedded downstream tasks (kdprune-prep tasks) and fine-tunes the teacher and
#      the pruned model (and, quick profile, the Tutor-KD student) on one of them, SpamAssassin
#      (the WordNet gloss-pair task when the corpus could not be installed;
#      configs/finetune-quickstart.yaml), next to its majority-class baseline
#
#   launch/quickstart.sh [--profile quick|long] [pretrain args...]
#
# --profile long (under an hour on 2 cores): the same teacher pre-trained ~40 minutes on the
# WordNet half of the corpus (configs/teacher-long.yaml), long enough to learn facts, then step 5
# with longer mask and prompt training; no distillation. Output in runs/long.
# Extra arguments are passed to `kdprune pretrain`, e.g. --set train.steps=100; KD_DISTILL_ARGS
# to every `kdprune distill` (e.g. KD_DISTILL_ARGS="--set train.steps=50"); KD_PROBE_ARGS to
# relmask and prompt; KD_SCHUBERT_ARGS to schubert; KD_FINETUNE_ARGS to finetune.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
profile=quick
if [ "${1:-}" = "--profile" ]; then
  profile="${2:?--profile needs quick or long}"
  shift 2
fi
case "$profile" in
  quick) out="runs/quickstart"; pretrain_config=configs/quickstart.yaml ;;
  long) out="runs/long"; pretrain_config=configs/teacher-long.yaml ;;
  *) echo "quickstart: --profile must be quick or long (got '$profile')" >&2; exit 2 ;;
esac
ranks="${KD_RANKS:-2}"

bash scripts/build.sh
bin="${KD_BUILD_DIR:-$root/build}"

if ! ls "$out"/data/train/*.h5 > /dev/null 2>&1; then
  if [ "$profile" = quick ]; then
    echo "== building the default corpus (WordNet + GCIDE) =="
    "$bin/kdprune-prep" corpus --source wordnet,gcide --out "$out/corpus"
    shard_args=(--max-seq-length 128 --max-predictions 20 --dupe-factor 1)
  else  # WordNet only: glosses and relation facts; short documents, so 64-token instances
    echo "== building the WordNet corpus =="
    "$bin/kdprune-prep" corpus --source wordnet --out "$out/corpus"
    shard_args=(--max-seq-length 64 --max-predictions 10 --dupe-factor 3)
  fi
  echo "== writing HDF5 pre-training shards =="
  "$bin/kdprune-prep" pretraining-data --input "$out/corpus" \
    --vocab data/vocab/bert-base-uncased-vocab.txt --out "$out/data" --shards 8 \
    "${shard_args[@]}" --seed 12345
fi

echo "== pre-training on $ranks ranks =="
set +e
launch/run-local -n "$ranks" -- "$bin/kdprune" pretrain --config "$pretrain_config" \
  --set run_dir="$out/pretrain" "$@"
code=$?
set -e
[ "$code" = 0 ] || { echo "quickstart: pretrain exited with $code" >&2; exit "$code"; }

run_dir="$out/pretrain"
for arg in "$@"; do [[ "$arg" == run_dir=* ]] && run_dir="${arg#run_dir=}"; done
model="$(launch/summary_field "$run_dir" model)"
echo "== fill-mask with the pre-trained model ($model) =="
for text in "a dog is a kind of [MASK] ." "the opposite of hot is [MASK] ." "a wheel is part of a [MASK] ."; do
  echo "-- $text"
  "$bin/kdprune" fill-mask --model "$model" --top-k 3 "$text"
done

echo "== WordNet probe sets (kdprune-prep probes) =="
[ -d "$out/probes/test" ] ||
  "$bin/kdprune-prep" probes --source wordnet --out "$out/probes" \
    --vocab data/vocab/bert-base-uncased-vocab.txt > "$out/probes.log"
probe() {  # probe MODEL_DIR JSON
  launch/run-local -n "$ranks" -- "$bin/kdprune" eval-probe --model "$1" --precision bf16 \
    --probes "$out/probes/test" --json "$2" > /dev/null
}

if [ "$profile" = quick ]; then
  echo "== distilling the teacher into a 2 x 128 student: Tutor-KD, plain KD, MLM-only =="
  read -r -a distill_args <<< "${KD_DISTILL_ARGS:-}"
  for method in tutor_kd kd mlm; do
    echo "-- distill.method=$method"
    launch/run-local -n "$ranks" -- "$bin/kdprune" distill --config configs/distill-quickstart.yaml \
      --set teacher.dir="$model" --set distill.method="$method" \
      --set run_dir="$out/distill-$method" "${distill_args[@]}"
  done
  launch/run-local -n "$ranks" -- "$bin/kdprune" eval-mlm --model "$model" --precision bf16 \
    --data "$out/data/heldout/*.h5" --json "$out/teacher-eval.json" > /dev/null
  probe "$model" "$out/teacher-probe.json"
  for method in tutor_kd kd mlm; do
    probe "$(launch/summary_field "$out/distill-$method" model)" "$out/distill-$method/probe.json"
  done
  echo
  echo "== distillation on the embedded default (held-out MLM, the same masked positions for all) =="
  /usr/bin/python3 launch/students_table.py "$out/teacher-eval.json" \
    "$out/distill-tutor_kd" "$out/distill-kd" "$out/distill-mlm"
fi

echo "== probing the teacher per relation: LAMP masks and soft prompt ensembles =="
read -r -a probe_args <<< "${KD_PROBE_ARGS:-}"
long_args=()
[ "$profile" = long ] && long_args=(--set train.steps=300 --set train.precision=bf16)
for job in relmask prompt; do
  launch/run-local -n "$ranks" -- "$bin/kdprune" "$job" --config "configs/$job-quickstart.yaml" \
    --set model.dir="$model" --set probes.dir="$out/probes" --set run_dir="$out/$job" \
    "${long_args[@]}" "${probe_args[@]}" | sed -n '/^== /,$p'
done
/usr/bin/python3 launch/plot_specialisation.py "$out/relmask/specialisation.json" \
  "$out/specialisation.png" --title "LAMP specialisation ($profile profile teacher, WordNet test facts)"
echo
echo "== WordNet probes (test split): manual template vs soft prompt vs ensemble vs LAMP mask =="
launch/run-local -n "$ranks" -- "$bin/kdprune" eval-probe --model "$model" --precision bf16 \
  --probes "$out/probes/test" --prompts "$out/prompt/prompts" --masks "$out/relmask/masks" \
  --json "$out/probe-table.json"

echo
echo "== schuBERT: pruning the teacher to 85% of its parameters (schubert-all, 2 rounds) =="
read -r -a schubert_args <<< "${KD_SCHUBERT_ARGS:-}"
launch/run-local -n "$ranks" -- "$bin/kdprune" schubert --config configs/schubert-quickstart.yaml \
  --set model.dir="$model" --set "data.train=[\"$out/data/train/*.h5\"]" \
  --set "data.heldout=[\"$out/data/heldout/*.h5\"]" --set run_dir="$out/schubert" \
  "${schubert_args[@]}" | sed -n '/^== /,$p'
/usr/bin/python3 launch/plot_schubert.py "$out/schubert-dims.png" teacher="$model" \
  schuBERT-all="$(launch/summary_field "$out/schubert" model)"

echo
[ -f "$out/tasks/wn_gloss_pair/task.json" ] ||
  "$bin/kdprune-prep" tasks --out "$out/tasks" --max-train 3000 --max-dev 500 --max-test 1000 \
    > "$out/tasks.log"
# SpamAssassin when install-deps.sh could install it (the one task the 300-step teacher learns),
# else the WordNet gloss-pair task.
task=spam
[ -f "$out/tasks/spam/task.json" ] || task=wn_gloss_pair
echo "== downstream: fine-tuning on the embedded task $task (kdprune-prep tasks) =="
finetune_models="\"$model\",\"$(launch/summary_field "$out/schubert" model)\""
finetune_labels="teacher,schubert"
if [ "$profile" = quick ]; then
  finetune_models="$finetune_models,\"$(launch/summary_field "$out/distill-tutor_kd" model)\""
  finetune_labels="$finetune_labels,tutor_kd"
fi
read -r -a finetune_args <<< "${KD_FINETUNE_ARGS:-}"
launch/run-local -n "$ranks" -- "$bin/kdprune" finetune --config configs/finetune-quickstart.yaml \
  --set "finetune.models=[$finetune_models]" --set "finetune.labels=[$finetune_labels]" \
  --set "finetune.tasks=[\"$out/tasks/$task\"]" --set run_dir="$out/finetune" \
  "${finetune_args[@]}" | sed -n '/^== /,$p'
