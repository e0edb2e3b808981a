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
model="$work/run/checkpoints/step_00000006/model"
for f in config.json model.safetensors vocab.txt; do [ -s "$model/$f" ] || fail "model dir lacks $f"; done

"$kdprune" inspect --model "$model" > "$work/inspect.txt"
grep -qi "total" "$work/inspect.txt" || { cat "$work/inspect.txt"; fail "inspect shows no total"; }

"$kdprune" fill-mask --model "$model" --top-k 3 "the dog is a kind of [MASK] ." > "$work/fill.txt"
[ "$(wc -l < "$work/fill.txt")" = 3 ] || { cat "$work/fill.txt"; fail "fill-mask should print 3 lines"; }
awk -F'\t' 'NF!=2 || $2<0 || $2>1 {exit 1}' "$work/fill.txt" || fail "fill-mask lines are not token<TAB>prob"
"$kdprune" fill-mask --model "$model" "[MASK] and [MASK]" > "$work/fill2.txt"
[ "$(grep -c . "$work/fill2.txt")" = 10 ] || fail "two masks should give 2 x 5 lines"

set +e
"$kdprune" fill-mask --model "$model" "no mask here" > /dev/null 2> "$work/nomask.err"; c1=$?
"$kdprune" pretrain --config configs/missing.yaml > /dev/null 2> "$work/missing.err"; c2=$?
set -e
[ "$c1" != 0 ] && grep -q "no \[MASK\]" "$work/nomask.err" || fail "missing [MASK] not reported"
[ "$c2" != 0 ] && grep -qi "missing.yaml" "$work/missing.err" || fail "missing config not reported"
pass "pretrain → inspect → fill-mask, and errors"
