#!/usr/bin/env bash
# The main job on the embedded default data, from a fresh machine:
#   1. installs the Debian packages and builds kdprune (skipped when up to date)
#   2. builds the default corpus from WordNet + GCIDE and turns it into HDF5 shards
#      (skipped when runs/quickstart/data exists)
#   3. pre-trains a small BERT, the teacher, on 2 MPI ranks (configs/quickstart.yaml; resumes if
#      interrupted) and asks it a few fill-mask questions
#   4. distils it into a smaller student three ways at equal steps (configs/distill-quickstart.yaml):
#      Tutor-KD, plain KD and MLM-only, each scored on the held-out shard, and prints the comparison
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
/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
teacher = json.load(open(f"{out}/teacher-eval.json"))
print("\n== distillation on the embedded default (held-out MLM, same masked positions for all) ==")
print(f"{'model':<22}{'params':>8}{'steps':>7}{'tokens/s':>10}{'MLM acc':>9}{'ppl':>10}")
print(f"{'teacher (pre-trained)':<22}{'':>8}{'':>7}{'':>10}{teacher['accuracy']:>9.4f}{teacher['perplexity']:>10.1f}")
for m in ["tutor_kd", "kd", "mlm"]:
    s = json.load(open(f"{out}/distill-{m}/summary.json"))
    print(f"{'student, ' + m:<22}{s['student_params']:>8}{s['end_step']:>7}{s['tokens_per_s']:>10.0f}"
          f"{float(s['heldout_mlm_acc']):>9.4f}{float(s['heldout_ppl']):>10.1f}")
PY
