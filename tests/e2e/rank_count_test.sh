#!/usr/bin/env bash
# Resume on another number of ranks (issue 16): a checkpoint keeps its step's micro-batches
# (data slots: its ranks x micro-steps) and the resumed run splits them over its own ranks with
# gradient accumulation, so the losses equal the uninterrupted run's to floating-point tolerance
# (1e-6 relative; sums of gradients only change order). Dropout is on: the randomness of a
# micro-batch comes from (seed, step, slot), not from the rank that runs it.
#   pretrain: 2 ranks -> stop at 8 -> 1 rank (accumulation 2);  1 rank x 2 -> 2 ranks;
#   distill:  2 ranks -> 1 rank;  and a rank count that cannot split the step is refused.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"

launch() {  # RANKS ARGS...: one rank runs without mpirun, as a user would
  local n="$1"; shift
  if [ "$n" = 1 ]; then "$kdprune" "$@"; else $KD_MPIRUN -np "$n" "$kdprune" "$@"; fi
}
close_losses() {  # A B
  /usr/bin/python3 - "$1/metrics.jsonl" "$2/metrics.jsonl" <<'PY'
import json, sys
def losses(p):
    out = {}
    for l in open(p):
        j = json.loads(l); out[j["step"]] = j["loss"]
    return out
a, b = losses(sys.argv[1]), losses(sys.argv[2])
assert a.keys() == b.keys() and a, (sorted(a), sorted(b))
worst = max(abs(a[s] - b[s]) / abs(b[s]) for s in a)
assert worst <= 1e-6, f"largest relative difference {worst:.3g} > 1e-6"
print(f"{len(a)} steps, largest relative difference {worst:.3g}")
PY
}
# moved NAME FROM TO COMMAND ARGS...: uninterrupted on FROM ranks vs stopped at 8 on FROM and
# resumed on TO ranks.
moved() {
  local name="$1" from="$2" to="$3"; shift 3
  launch "$from" "$@" --set run_dir="$work/$name-straight" > "$work/$name-straight.log" 2>&1 ||
    { cat "$work/$name-straight.log"; fail "$name: uninterrupted run failed"; }
  set +e
  launch "$from" "$@" --set run_dir="$work/$name" --set debug.stop_after_step=8 > "$work/$name-1.log" 2>&1
  local code=$?
  set -e
  [ "$code" = 85 ] || { cat "$work/$name-1.log"; fail "$name: stopped run exited $code"; }
  launch "$to" "$@" --set run_dir="$work/$name" > "$work/$name-2.log" 2>&1 ||
    { cat "$work/$name-2.log"; fail "$name: resume on $to rank(s) failed"; }
  grep -q "on $to ranks: train.grad_accum" "$work/$name-2.log" ||
    { cat "$work/$name-2.log"; fail "$name: no note of the new accumulation"; }
  local result
  result=$(close_losses "$work/$name" "$work/$name-straight") || fail "$name: losses differ: $result"
  pass "$name: $from -> $to rank(s): $result"
}

pre=(pretrain --config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]"
  --set train.steps=16 --set train.checkpoint_every=0)
moved pretrain-2to1 2 1 "${pre[@]}"
moved pretrain-1to2 1 2 "${pre[@]}" --set train.grad_accum=2

tiny_teacher "$kdprune" "$data" "$work/teacher"
dis=(distill --config configs/test-distill.yaml --set "teacher.dir=$teacher"
  --set "data.train=[\"$data/train/*.h5\"]" --set "data.heldout=[]" --set train.steps=16
  --set train.checkpoint_every=0)
moved distill-2to1 2 1 "${dis[@]}"

# 2 slots per step cannot be split over 3 ranks: refused before training, with what to do.
set +e
$KD_MPIRUN -np 3 "$kdprune" "${pre[@]}" --set run_dir="$work/pretrain-2to1" --set train.steps=20 \
  > "$work/three.log" 2>&1
code=$?
set -e
[ "$code" != 0 ] || fail "3 ranks resumed a checkpoint of 2 slots per step"
grep -q "HINT: resume on a number of ranks that divides 2" "$work/three.log" ||
  { cat "$work/three.log"; fail "3 ranks: no hint"; }
pass "3 ranks on a 2-slot checkpoint: refused with a hint"
