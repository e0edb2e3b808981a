#!/usr/bin/env bash
# A tiny pre-trained teacher for the distillation tests that need one ready-made (Slurm):
# 4 steps of configs/test-tiny.yaml on the test shards; the model directory is OUT/teacher.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; out="$3"
rm -rf "$out"
cd "$KD_SOURCE_DIR"
mkdir -p "$out"
tiny_teacher "$kdprune" "$data" "$out/run"
cp -r "$teacher" "$out/teacher"
pass "test teacher in $out/teacher"
