#!/usr/bin/env bash
# Builds the small HDF5 shards the end-to-end tests train on (real kdprune-prep output).
source "$(dirname "$0")/common.sh"
prep="$1"; out="$2"
rm -rf "$out"
"$prep" pretraining-data --input "$KD_SOURCE_DIR/tests/e2e/fixtures/corpus.txt" \
  --vocab "$KD_SOURCE_DIR/data/vocab/bert-base-uncased-vocab.txt" --out "$out" --shards 2 \
  --max-seq-length 64 --max-predictions 10 --dupe-factor 3 --seed 12345
ls "$out"/train/*.h5 >/dev/null || fail "no shards written to $out/train"
pass "test shards in $out"
