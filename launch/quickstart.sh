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
# Extra arguments are passed to `kdprune pretrain`, e.g. --set train.steps=100; KD_DISTILL_ARGS
# to every `kdprune distill` (e.g. KD_DISTILL_ARGS="--set train.steps=50").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out="runs/quickstart"
ranks="${KD_RANKS:-2}"

bash scripts/build.sh
bin="${KD_BUILD_DIR:-$root/build}"

if ! ls "$out"/data/train/*.h5 > /dev/null 2>&1; then
  echo "== building the default corpus (WordNet + GCIDE) =="
  "$bin/kdprune-prep" corpus --source wordnet,gcide --out "$out/corpus"
  echo "== writing HDF5 pre-training shards =="
  "$bin/kdprune-prep" pretraining-data --input "$out/corpus" \
    --vocab data/vocab/bert-base-uncased-vocab.txt --out "$out/data" --shards 8 \
    --max-seq-length 128 --max-predictions 20 --dupe-factor 1 --seed 12345
fi

echo "== pre-training on $ranks ranks =="
set +e
launch/run-local -n "$ranks" -- "$bin/kdprune" pretrain --config configs/quickstart.yaml "$@"
code=$?
set -e
[ "$code" = 0 ] || { echo "quickstart: pretrain exited with $code" >&2; exit "$code"; }

run_dir="$out/pretrain"
for arg in "$@"; do [[ "$arg" == run_dir=* ]] && run_dir="${arg#run_dir=}"; done
model="$run_dir/checkpoints/$(cat "$run_dir/checkpoints/latest")/model"
echo "== fill-mask with the pre-trained model ($model) =="
for text in "a dog is a kind of [MASK] ." "the opposite of hot is [MASK] ." "a wheel is part of a [MASK] ."; do
  echo "-- $text"
  "$bin/kdprune" fill-mask --model "$model" --top-k 3 "$text"
done

echo "== distilling the teacher into a 2 x 128 student: Tutor-KD, plain KD, MLM-only =="
read -r -a distill_args <<< "${KD_DISTILL_ARGS:-}"
for method in tutor_kd kd mlm; do
  echo "-- distill.method=$method"
  launch/run-local -n "$ranks" -- "$bin/kdprune" distill --config configs/distill-quickstart.yaml \
    --set teacher.model="$model" --set distill.method="$method" \
    --set run_dir="$out/distill-$method" "${distill_args[@]}"
done
launch/run-local -n "$ranks" -- "$bin/kdprune" eval-mlm --model "$model" --precision bf16 \
  --data "$out/data/heldout/*.h5" --json "$out/teacher-eval.json" > /dev/null
echo "== WordNet probes (test split) for the teacher and the students =="
[ -d "$out/probes/test" ] ||
  "$bin/kdprune-prep" probes --source wordnet --out "$out/probes" \
    --vocab data/vocab/bert-base-uncased-vocab.txt > "$out/probes.log"
probe() {  # probe MODEL_DIR JSON
  launch/run-local -n "$ranks" -- "$bin/kdprune" eval-probe --model "$1" --precision bf16 \
    --probes "$out/probes/test" --json "$2" > /dev/null
}
probe "$model" "$out/teacher-probe.json"
for method in tutor_kd kd mlm; do probe "$out/distill-$method/student" "$out/distill-$method/probe.json"; done
echo
echo "== distillation on the embedded default (held-out MLM, the same masked positions for all) =="
/usr/bin/python3 launch/students_table.py "$out/teacher-eval.json" \
  "$out/distill-tutor_kd" "$out/distill-kd" "$out/distill-mlm"
