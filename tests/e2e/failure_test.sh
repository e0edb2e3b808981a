#!/usr/bin/env bash
# One failing rank ends the whole 2-rank job within seconds with that rank's message: an
# exception on rank 1, a non-finite loss on rank 1, and a corrupt shard.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
common=(--config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]" --set train.steps=1000)

expect_failure() {  # name, expected message, args...
  local name="$1" message="$2"; shift 2
  local start=$(date +%s)
  set +e
  timeout 120 $KD_MPIRUN -np 2 "$kdprune" pretrain "${common[@]}" --set run_dir="$work/$name" "$@" \
    > "$work/$name.log" 2>&1
  local code=$?
  set -e
  local took=$(( $(date +%s) - start ))
  [ "$code" != 0 ] || fail "$name: job succeeded but should have failed"
  [ "$code" != 124 ] || { cat "$work/$name.log"; fail "$name: job hung (killed by timeout)"; }
  grep -q -- "$message" "$work/$name.log" || { cat "$work/$name.log"; fail "$name: message '$message' missing"; }
  [ "$took" -lt 60 ] || fail "$name: took ${took}s to end"
  pass "$name: exit $code after ${took}s with '$message'"
}

expect_failure exception "injected failure at step 3.*rank 1/2" --set debug.fail_rank=1 --set debug.fail_step=3
expect_failure nonfinite "non-finite loss at step 3" --set debug.fail_rank=1 --set debug.fail_step=2 \
  --set debug.fail_kind=nan
head -c 4096 /dev/urandom > "$work/corrupt.h5"
expect_failure corrupt_shard "corrupt.h5" --set "data.train=[\"$data/train/*.h5\",\"$work/corrupt.h5\"]"
expect_failure bad_config "unknown key 'train.stepz'" --set train.stepz=3
