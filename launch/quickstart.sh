#!/usr/bin/env bash
# The main job on the embedded default data, from a fresh machine:
#   1. installs the Debian packages and builds kdprune (skipped when up to date)
#   2. builds the default corpus from WordNet + GCIDE and turns it into HDF5 shards, the WordNet
#      facts corpus and its shards, the WordNet probe sets and the embedded downstream tasks
#      (kdprune-prep; each skipped when present)
#   3. runs the study as one campaign (configs/quickstart-campaign.yaml, `kdprune campaign` on
#      2 MPI ranks): pre-trains a small BERT, the teacher, on both ranks (the default corpus,
#      then the WordNet facts with every object masked); then at once, on rank
#      groups, distils it three ways at equal steps (Tutor-KD, plain KD, MLM-only), trains LAMP
#      masks and soft prompt ensembles per WordNet relation, and prunes it with schuBERT-all to
#      85% of its parameters; then scores everything (held-out MLM, WordNet probes) and fine-tunes
#      the teacher, the pruned model and the Tutor-KD student on SpamAssassin (the WordNet
#      gloss-pair task when that corpus could not be installed). Finished stages are skipped on a
#      re-run, unfinished ones resume from their checkpoints.
#   4. prints what the stages found: fill-mask answers of the teacher, the distillation table,
#      the probe table (manual template vs soft prompt vs ensemble vs LAMP mask), schuBERT's
#      rounds, the downstream scores, the campaign report; PNGs of the specialisation matrix,
#      the surviving dimensions and the campaign timeline.
#
#   launch/quickstart.sh [--profile quick|long] [kdprune campaign args...]
#
# --profile long (about an hour on 2 cores): the teacher pre-trained ~45 minutes on the WordNet
# half of the corpus (configs/long-campaign.yaml), long enough to learn facts, then longer mask
# and prompt training, schuBERT and the fine-tune; no distillation. Output in runs/long.
# Extra arguments go to `kdprune campaign`, e.g. --set stages.pretrain.set.train.steps=100 or
# --set stages.distill-kd.ranks=2. KD_SEQUENTIAL=1 runs every stage on all ranks, one after
# another (the pre-campaign way; for the README's wall-time comparison).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
profile=quick
if [ "${1:-}" = "--profile" ]; then
  profile="${2:?--profile needs quick or long}"
  shift 2
fi
case "$profile" in
  quick) out="runs/quickstart"; campaign=configs/quickstart-campaign.yaml ;;
  long) out="runs/long"; campaign=configs/long-campaign.yaml ;;
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

if [ "$profile" = quick ] && ! ls "$out"/facts-data/train/*.h5 > /dev/null 2>&1; then
  # The teacher's second phase: the relation facts alone, each object a salient span.
  echo "== WordNet facts corpus and its 32-token shards (objects masked as salient spans) =="
  "$bin/kdprune-prep" corpus --source wordnet-facts --out "$out/facts-corpus"
  "$bin/kdprune-prep" pretraining-data --input "$out/facts-corpus" \
    --vocab data/vocab/bert-base-uncased-vocab.txt --out "$out/facts-data" --shards 8 \
    --max-seq-length 32 --max-predictions 5 --masked-lm-prob 0.15 --whole-word-masking \
    --salient-spans --dupe-factor 5 --seed 12345
fi

probes=runs/quickstart/probes  # WordNet probe sets, shared by both profiles
if [ ! -d "$probes/test" ]; then
  echo "== WordNet probe sets (kdprune-prep probes) =="
  mkdir -p runs/quickstart
  "$bin/kdprune-prep" probes --source wordnet --out "$probes" \
    --vocab data/vocab/bert-base-uncased-vocab.txt > runs/quickstart/probes.log
fi
if [ ! -f "$out/tasks/wn_gloss_pair/task.json" ]; then
  echo "== embedded downstream tasks (kdprune-prep tasks) =="
  "$bin/kdprune-prep" tasks --out "$out/tasks" --max-train 3000 --max-dev 500 --max-test 1000 \
    > "$out/tasks.log"
fi
# SpamAssassin when install-deps.sh could install it (the one task the 300-step teacher learns),
# else the WordNet gloss-pair task.
task=spam
[ -f "$out/tasks/spam/task.json" ] || task=wn_gloss_pair

campaign_args=(--set "stages.finetune.set.finetune.tasks=[\"$out/tasks/$task\"]")
if [ "${KD_SEQUENTIAL:-0}" = 1 ]; then
  for stage in $(awk '/^stages:/ {on = 1; next} on && /^  [A-Za-z0-9_-]+:/ {sub(":", "", $1); print $1}' "$campaign"); do
    campaign_args+=(--set "stages.$stage.ranks=$ranks")
  done
fi
echo "== the study as one campaign on $ranks ranks ($campaign; each stage's output in $out/<stage>/logs) =="
set +e
launch/run-local -n "$ranks" -- "$bin/kdprune" campaign --config "$campaign" "${campaign_args[@]}" "$@"
code=$?
set -e
[ "$code" = 0 ] || { echo "quickstart: the campaign exited with $code (re-run to resume)" >&2; exit "$code"; }

# A stage's printed output: its rank-0 log without the log lines.
stage_output() { grep -v '^\[[0-9:]*\] ' "$out/$1/logs/rank0.log" | sed -n "${2:-/^== /,\$p}"; }

teacher_stage=pretrain-facts  # the quick profile's teacher ends with the facts phase
[ "$profile" = quick ] || teacher_stage=pretrain
model="$(launch/summary_field "$out/$teacher_stage" model)"
echo
echo "== fill-mask with the pre-trained teacher ($model) =="
for text in "a dog is a kind of [MASK] ." "the opposite of hot is [MASK] ." "a wheel is part of a [MASK] ."; do
  echo "-- $text"
  "$bin/kdprune" fill-mask --model "$model" --top-k 3 "$text"
done

if [ "$profile" = quick ]; then
  echo
  echo "== distillation on the embedded default (held-out MLM, the same masked positions for all) =="
  /usr/bin/python3 launch/students_table.py "$out/teacher-eval.json" \
    "$out/distill-tutor_kd" "$out/distill-kd" "$out/distill-mlm"
fi

echo
echo "== probing the teacher per relation: LAMP masks and soft prompt ensembles =="
stage_output relmask
stage_output prompt
/usr/bin/python3 launch/plot_specialisation.py "$out/relmask/specialisation.json" \
  "$out/specialisation.png" --title "LAMP specialisation ($profile profile teacher, WordNet test facts)"
echo
echo "== WordNet probes (test split): manual template vs soft prompt vs ensemble vs LAMP mask =="
stage_output probe-table '1,$p'

echo
echo "== schuBERT: pruning the teacher to 85% of its parameters (schubert-all, 2 rounds) =="
stage_output schubert
/usr/bin/python3 launch/plot_schubert.py "$out/schubert-dims.png" teacher="$model" \
  schuBERT-all="$(launch/summary_field "$out/schubert" model)"

echo
echo "== downstream: fine-tuning on the embedded task $task (kdprune-prep tasks) =="
stage_output finetune
echo
cat "$out/campaign_report.txt"
echo "timeline: $out/timeline.png"
