#!/usr/bin/env bash
# Commands are library calls on a given communicator: `pretrain` and `relmask` run at the same
# time on the two halves of a 2-rank world (tests/e2e/tools/split_commands_main.cpp) and give
# exactly what each gives alone on 1 rank: the same per-step losses, the same relmask report and
# mask files.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"; split_commands="$4"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
make_probe_fixture "$kdprune" "$data" "$work"

# The two configs, written out in full (--dump-config) so that both ways read the same file.
"$kdprune" pretrain --config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]" \
  --set train.steps=12 --dump-config > "$work/pretrain.yaml"
"$kdprune" relmask --config configs/relmask-quickstart.yaml --set model.dir="$model" \
  --set probes.dir="$probes" --set masks.first_layer=1 --set train.steps=8 \
  --set train.schedule.warmup_steps=2 --set probes.batch_size=4 --dump-config > "$work/relmask.yaml"

"$kdprune" pretrain --config "$work/pretrain.yaml" --set run_dir="$work/alone-pretrain" \
  > "$work/alone-pretrain.log" 2>&1 || { cat "$work/alone-pretrain.log"; fail "pretrain alone"; }
"$kdprune" relmask --config "$work/relmask.yaml" --set run_dir="$work/alone-relmask" \
  > "$work/alone-relmask.log" 2>&1 || { cat "$work/alone-relmask.log"; fail "relmask alone"; }

sed -i "s#^run_dir: .*#run_dir: $work/split-pretrain#" "$work/pretrain.yaml"
sed -i "s#^run_dir: .*#run_dir: $work/split-relmask#" "$work/relmask.yaml"
$KD_MPIRUN -np 2 "$split_commands" "$work/pretrain.yaml" "$work/relmask.yaml" > "$work/split.log" 2>&1 ||
  { cat "$work/split.log"; fail "the two commands on the two halves of the world"; }

diff <(losses "$work/alone-pretrain/metrics.jsonl") <(losses "$work/split-pretrain/metrics.jsonl") ||
  fail "pretrain on a half of the world gave other losses than alone"
[ "$(losses "$work/split-pretrain/metrics.jsonl" | wc -l)" = 12 ] || fail "pretrain: expected 12 steps"
cmp "$work/alone-pretrain/model/model.safetensors" "$work/split-pretrain/model/model.safetensors" ||
  fail "pretrain: final models differ"
/usr/bin/python3 - "$work/alone-relmask" "$work/split-relmask" <<'PY' || fail "relmask: reports differ"
import json, sys
a, b = (json.load(open(f"{d}/relmask_report.json")) for d in sys.argv[1:])
assert len(a) == 3 and a == b, (a, b)
sa, sb = (json.load(open(f"{d}/summary.json")) for d in sys.argv[1:])
assert sa["ranks"] == sb["ranks"] == 1 and sa["relations"] == 3, (sa, sb)
assert isinstance(sa["mean_test_p_at_1_mask"], float) and sa["mean_test_p_at_1_mask"] == sb["mean_test_p_at_1_mask"]
PY
for f in "$work/alone-relmask/masks"/*.safetensors; do
  cmp -s "$f" "$work/split-relmask/masks/$(basename "$f")" || fail "relmask: $(basename "$f") differs"
done
pass "pretrain and relmask at once on two halves of a 2-rank world == each alone on 1 rank"
