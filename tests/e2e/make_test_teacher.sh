#!/usr/bin/env bash
# A tiny pre-trained teacher for the distillation tests that need one ready-made (Slurm):
# 4 steps of configs/test-tiny.yaml on the test shards; the model directory is OUT/teacher.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; out="$3"
rm -rf "$out"
cd "$KD_SOURCE_DIR"
"$kdprune" pretrain --config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]" \
  --set train.steps=4 --set run_dir="$out/run" > "$out.log" 2>&1 || { cat "$out.log"; fail "teacher pre-training failed"; }
cp -r "$out/run/checkpoints/step_00000004/model" "$out/teacher"
pass "test teacher in $out/teacher"
