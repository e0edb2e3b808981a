#!/usr/bin/env bash
# A full disk while writing a checkpoint (issue 16): the run directory on a 20 MB tmpfs holds one
# 13 MB checkpoint of configs/test-tiny.yaml but not a second. The job must fail with an error
# naming the file and the intact previous checkpoint, leave no half-written directory and no
# half-written `latest`, and resume from that checkpoint once there is space.
# Exit 77 (skip) only when this user may not mount a tmpfs (not root).
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
mnt="$work/full"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt" || true; }
trap cleanup EXIT
cleanup
rm -rf "$work"; mkdir -p "$mnt"
cd "$KD_SOURCE_DIR"
mount -t tmpfs -o size=20m tmpfs "$mnt" 2>/dev/null || { echo "SKIP: cannot mount a tmpfs (needs root)"; exit 77; }
common=(--config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]"
  --set train.steps=6 --set train.checkpoint_every=2 --set train.schedule.warmup_steps=0)

set +e
"$kdprune" pretrain "${common[@]}" --set run_dir="$mnt/run" > "$work/full.log" 2>&1
code=$?
set -e
[ "$code" != 0 ] || fail "the job succeeded on a full disk"
grep -q "writing checkpoint .*step_00000004 failed: .*No space left on device" "$work/full.log" ||
  { cat "$work/full.log"; fail "no error naming the checkpoint and 'No space left on device'"; }
grep -q "the previous checkpoint .*step_00000002 is intact" "$work/full.log" ||
  { cat "$work/full.log"; fail "the error does not name the intact previous checkpoint"; }
[ "$(cat "$mnt/run/checkpoints/latest")" = step_00000002 ] || fail "latest does not name step_00000002"
! compgen -G "$mnt/run/checkpoints/*.tmp*" > /dev/null || fail "a half-written file or directory was left"
! compgen -G "$mnt/run/checkpoints/step_00000002/*.tmp*" > /dev/null || fail "temporaries in step_00000002"
pass "full disk: '$(grep -o 'writing checkpoint.*No space left on device' "$work/full.log" | head -n 1 | cut -c1-160)'"

# With space again (the run directory copied to a normal disk): the resume starts at step 2.
cp -a "$mnt/run" "$work/run"
"$kdprune" pretrain "${common[@]}" --set run_dir="$work/run" > "$work/resume.log" 2>&1 ||
  { cat "$work/resume.log"; fail "resume after the full disk failed"; }
grep -q "resumed from .*step_00000002 at step 2" "$work/resume.log" || fail "did not resume from step 2"
pass "full disk: the previous checkpoint resumed to step 6"
