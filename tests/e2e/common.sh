# Shared helpers for the end-to-end test scripts (sourced).
set -euo pipefail
KD_SOURCE_DIR="${KD_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
KD_MPIRUN="${KD_MPIRUN:-mpirun --oversubscribe --bind-to none $([ "$(id -u)" = 0 ] && echo --allow-run-as-root)}"
export OMP_NUM_THREADS=1

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# Loss of each step from a metrics.jsonl, one "step loss" line per step (full precision).
losses() { /usr/bin/python3 -c '
import json,sys
for l in open(sys.argv[1]):
    j=json.loads(l); print(j["step"], repr(j["loss"]))' "$1"; }

# tiny_teacher KDPRUNE DATA RUN_DIR: 4 steps of configs/test-tiny.yaml on the test shards (log in
# RUN_DIR.log); sets $teacher to the model directory of the last checkpoint.
tiny_teacher() {
  local kdprune="$1" data="$2" run="$3"
  "$kdprune" pretrain --config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]" \
    --set train.steps=4 --set run_dir="$run" > "$run.log" 2>&1 ||
    { cat "$run.log"; fail "teacher pre-training failed"; }
  teacher="$run/checkpoints/step_00000004/model"
}

# make_probe_fixture KDPRUNE DATA WORK: a tiny teacher (3 steps of configs/test-tiny.yaml on the
# test shards) in WORK/teacher and probe sets in WORK/probes/{train,dev,test} for IsA, PartOf and
# Antonym whose object is a word the teacher already predicts for "dog <rel> [MASK] ." (so P@1
# is not 0 everywhere and consistency checks compare real numbers). Sets $model and $probes.
make_probe_fixture() {
  local kdprune="$1" data="$2" work="$3"
  "$kdprune" pretrain --config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]" \
    --set train.steps=3 --set run_dir="$work/teacher" > "$work/teacher.log" 2>&1 || fail "teacher"
  model="$work/teacher/checkpoints/step_00000003/model"
  probes="$work/probes"
  local rel obj split subj
  for rel in IsA PartOf Antonym; do
    obj=$("$kdprune" fill-mask --model "$model" --top-k 30 "dog $rel [MASK] ." | awk -F'\t' '$1 ~ /^[a-z]+$/ {print $1; exit}')
    [ -n "$obj" ] || fail "fill-mask gave no whole word for $rel"
    for split in train dev test; do
      mkdir -p "$probes/$split"
      for subj in dog cat cow horse bird fish tree rock water fire; do
        printf '{"sub_label":"%s","obj_label":"%s","pred":"%s","template":"[X] %s [Y] .","masked_sentences":["%s %s [MASK] ."]}\n' \
          "$subj" "$obj" "$rel" "$rel" "$subj" "$rel"
      done > "$probes/$split/$rel.jsonl"
    done
  done
}
