#!/usr/bin/env bash
# The main job on the embedded default data, from a fresh machine:
#   1. installs the Debian packages and builds kdprune (skipped when up to date)
#   2. builds the default corpus from WordNet + GCIDE and turns it into HDF5 shards
#      (skipped when runs/quickstart/data exists)
#   3. pre-trains a small BERT on 2 MPI ranks (configs/quickstart.yaml; resumes if interrupted)
#   4. prints the summary and asks the model a few fill-mask questions
# Extra arguments are passed to `kdprune pretrain`, e.g. --set train.steps=100.
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
