#!/usr/bin/env bash
# The CLI contract end to end: a 1-rank pretrain writes a model directory that `inspect` and
# `fill-mask` read; bad input gives clear errors.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
"$kdprune" pretrain --config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]" \
  --set train.steps=6 --set run_dir="$work/run" > "$work/pretrain.log" 2>&1 ||
  { cat "$work/pretrain.log"; fail "1-rank pretrain failed"; }
grep -q "pretrain summary" "$work/pretrain.log" || fail "no summary printed"
# The final model is run_dir/model, named by summary.json (numbers as JSON numbers).
model="$(launch/summary_field "$work/run" model)"
[ "$model" = "$work/run/model" ] || fail "summary.json names '$model' as the model, not run_dir/model"
for f in config.json model.safetensors vocab.txt; do [ -s "$model/$f" ] || fail "model dir lacks $f"; done
cmp "$model/model.safetensors" "$work/run/checkpoints/step_00000006/model/model.safetensors" ||
  fail "run_dir/model is not the last checkpoint's model"
/usr/bin/python3 - "$work/run/summary.json" "$work/run/metrics.jsonl" <<'PY' || fail "summary.json fields"
import json, sys
s = json.load(open(sys.argv[1]))
losses = [json.loads(l)["loss"] for l in open(sys.argv[2])]
assert s["job"] == "pretrain" and s["ranks"] == 1 and s["end_step"] == 6 and s["start_step"] == 0, s
assert s["first_loss"] == losses[0] and s["last_loss"] == losses[-1], (s, losses)
assert isinstance(s["tokens_per_s"], float) and s["tokens_per_s"] > 0, s
PY

"$kdprune" inspect --model "$model" > "$work/inspect.txt"
grep -qi "total" "$work/inspect.txt" || { cat "$work/inspect.txt"; fail "inspect shows no total"; }
"$kdprune" inspect --model "$model" --json > "$work/inspect.json"
/usr/bin/python3 - "$work/inspect.json" <<'PY' || { cat "$work/inspect.json"; fail "inspect --json"; }
import json, sys
j = json.load(open(sys.argv[1]))
# configs/test-tiny.yaml: H 32, 2 layers of 2 heads, F 64
assert j["hidden_size"] == 32 and j["num_hidden_layers"] == 2 and len(j["layers"]) == 2, j
assert all(l["num_heads"] == 2 and l["intermediate_size"] == 64 for l in j["layers"]), j
p = j["parameters"]
assert p["total"] == p["embeddings"] + p["encoder"] + p["pooler_and_heads"], p
assert p["encoder"] == sum(l["parameters"] for l in j["layers"]), j
PY

# --help-config lists every key with its default; --dump-config prints the effective config.
"$kdprune" pretrain --help-config > "$work/help-config.txt"
grep -Eq "^  train\.steps +integer +1000 " "$work/help-config.txt" || { cat "$work/help-config.txt"; fail "--help-config"; }
grep -Eq "^  model\.dir +string " "$work/help-config.txt" || fail "--help-config lacks model.dir"
"$kdprune" pretrain --config configs/test-tiny.yaml --set train.steps=3 --dump-config > "$work/dump.yaml"
grep -q "^  steps: 3$" "$work/dump.yaml" && grep -q "^run_dir: runs/test-tiny$" "$work/dump.yaml" ||
  { cat "$work/dump.yaml"; fail "--dump-config"; }

"$kdprune" fill-mask --model "$model" --top-k 3 "the dog is a kind of [MASK] ." > "$work/fill.txt"
[ "$(wc -l < "$work/fill.txt")" = 3 ] || { cat "$work/fill.txt"; fail "fill-mask should print 3 lines"; }
awk -F'\t' 'NF!=2 || $2<0 || $2>1 {exit 1}' "$work/fill.txt" || fail "fill-mask lines are not token<TAB>prob"
"$kdprune" fill-mask --model "$model" "[MASK] and [MASK]" > "$work/fill2.txt"
[ "$(grep -c . "$work/fill2.txt")" = 10 ] || fail "two masks should give 2 x 5 lines"

# eval-probe against fill-mask: an object at fill-mask rank r (whole words only: objects must be
# one WordPiece) scores P@1 = [r = 1], P@k = [r <= k], MRR = 1/r; 2 ranks give the 1-rank numbers.
sentence="a cat is a kind of [MASK] ."
"$kdprune" fill-mask --model "$model" --top-k 30 "$sentence" > "$work/top.txt"
awk -F'\t' '$1 ~ /^[a-z]+$/ {print NR "\t" $1}' "$work/top.txt" | head -2 > "$work/picked.txt"
[ "$(wc -l < "$work/picked.txt")" = 2 ] || fail "fill-mask gave fewer than 2 whole words in its top 30"
mkdir -p "$work/probes"
while IFS=$'\t' read -r rank obj; do
  printf '{"sub_label":"cat","obj_label":"%s","pred":"rank%s","masked_sentences":["%s"]}\n' "$obj" "$rank" "$sentence"
done < "$work/picked.txt" > "$work/probes/picked.jsonl"
"$kdprune" eval-probe --model "$model" --probes "$work/probes" --top-k 3 --json "$work/p1.json" > "$work/probe.txt" 2>&1 ||
  { cat "$work/probe.txt"; fail "eval-probe failed"; }
$KD_MPIRUN -np 2 "$kdprune" eval-probe --model "$model" --probes "$work/probes/picked.jsonl" --top-k 3 --json "$work/p2.json" > "$work/probe2.txt" 2>&1 ||
  { cat "$work/probe2.txt"; fail "2-rank eval-probe failed"; }
/usr/bin/python3 - "$work/p1.json" "$work/p2.json" <<'PY' || { cat "$work/top.txt" "$work/probe.txt"; fail "eval-probe disagrees with fill-mask"; }
import json, sys
a, b = (json.load(open(p))["relations"] for p in sys.argv[1:3])
assert len(a) == 2, a
for name, s in a.items():
    r = int(name[len("rank"):])
    assert s["facts"] == 1 and s["skipped"] == 0, s
    assert s["p_at_1"] == (1.0 if r == 1 else 0.0) and s["p_at_k"] == (1.0 if r <= 3 else 0.0), (r, s)
    assert abs(s["mrr"] - 1.0 / r) < 1e-9, (r, s)
assert a == b, (a, b)
PY

set +e
"$kdprune" fill-mask --model "$model" "no mask here" > /dev/null 2> "$work/nomask.err"; c1=$?
"$kdprune" pretrain --config configs/missing.yaml > /dev/null 2> "$work/missing.err"; c2=$?
"$kdprune" relmask --config configs/relmask-quickstart.yaml --set data.train=x > /dev/null 2> "$work/foreign.err"; c3=$?
set -e
[ "$c3" != 0 ] && grep -q "kdprune relmask: .*unknown key 'data'" "$work/foreign.err" ||
  { cat "$work/foreign.err"; fail "a section relmask does not use was not refused naming the command"; }
[ "$c1" != 0 ] && grep -q "no \[MASK\]" "$work/nomask.err" || fail "missing [MASK] not reported"
[ "$c2" != 0 ] && grep -qi "missing.yaml" "$work/missing.err" || fail "missing config not reported"
pass "pretrain → inspect → fill-mask → eval-probe, and errors"
