#!/usr/bin/env bash
# relmask and prompt stop like every training command: a real SIGTERM in the middle of a relation
# checkpoints that relation and exits 85; a re-run resumes it from its checkpoint (not from its
# start) and ends with exactly the report and mask/prompt files of an uninterrupted run. On 2
# ranks (one relation per rank group) the same with debug.stop_after_step, the signal's code path.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
make_probe_fixture "$kdprune" "$data" "$work"

# same_outputs CMD SUBDIR A B: reports equal as JSON, every mask/prompt file byte for byte.
same_outputs() {
  local cmd="$1" sub="$2" a="$3" b="$4" f
  /usr/bin/python3 - "$a/${cmd}_report.json" "$b/${cmd}_report.json" <<'PY' || fail "$cmd: reports differ ($a vs $b)"
import json, sys
x, y = (json.load(open(p)) for p in sys.argv[1:])
assert len(x) == 3 and x == y, (x, y)
PY
  for f in "$a/$sub"/*.safetensors; do
    cmp -s "$f" "$b/$sub/$(basename "$f")" || fail "$cmd: $(basename "$f") differs ($a vs $b)"
  done
  [ "$(ls "$a/$sub" | wc -l)" = 3 ] || fail "$cmd: expected 3 files in $a/$sub"
}

for cmd in relmask prompt; do
  case $cmd in
    relmask) sub=masks;   extra=(--set masks.first_layer=1 --set masks.save_logits=true --set probes.specialisation_facts=0) ;;
    prompt)  sub=prompts; extra=() ;;
  esac
  args=(--config "configs/$cmd-quickstart.yaml" --set model.dir="$model" --set probes.dir="$probes"
        --set probes.batch_size=4 --set train.schedule.warmup_steps=10 --set train.log_every=1
        "${extra[@]}")
  "$kdprune" $cmd "${args[@]}" --set train.steps=300 --set run_dir="$work/$cmd-straight" \
    > "$work/$cmd-straight.log" 2>&1 || { cat "$work/$cmd-straight.log"; fail "$cmd: uninterrupted run"; }
  # Every relation trained through the Trainer: 300 logged steps each, and its loss fell.
  /usr/bin/python3 - "$work/$cmd-straight" <<'PY' || fail "$cmd: per-relation metrics"
import glob, json, sys
files = sorted(glob.glob(f"{sys.argv[1]}/relations/*/metrics.jsonl"))
assert len(files) == 3, files
for f in files:
    lines = [json.loads(l) for l in open(f)]
    assert [l["step"] for l in lines] == list(range(1, 301)), f
    loss = [l["loss"] for l in lines]
    assert sum(loss[-20:]) < sum(loss[:20]), (f, loss[:20], loss[-20:])
PY

  # A real SIGTERM once the first relation has logged a few steps.
  "$kdprune" $cmd "${args[@]}" --set train.steps=300 --set run_dir="$work/$cmd-signal" \
    > "$work/$cmd-signal.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    n=$({ cat "$work/$cmd-signal"/relations/*/metrics.jsonl 2>/dev/null || true; } | wc -l)
    [ "$n" -ge 5 ] && break; sleep 0.05
  done
  kill -TERM "$pid"
  set +e; wait "$pid"; code=$?; set -e
  [ "$code" = 85 ] || { cat "$work/$cmd-signal.log"; fail "$cmd: SIGTERM run exited $code, expected 85"; }
  ckpt=$(ls -d "$work/$cmd-signal"/relations/*/checkpoints/step_* 2>/dev/null | head -1)
  [ -n "$ckpt" ] || fail "$cmd: no relation checkpoint after SIGTERM"
  rel=$(basename "$(dirname "$(dirname "$ckpt")")")
  step=$((10#${ckpt##*step_}))
  [ ! -e "$work/$cmd-signal/relations/$rel.json" ] && [ "$step" -lt 300 ] ||
    fail "$cmd: the signal did not land in the middle of $rel (checkpoint $ckpt)"
  "$kdprune" $cmd "${args[@]}" --set train.steps=300 --set run_dir="$work/$cmd-signal" \
    > "$work/$cmd-resume.log" 2>&1 || { cat "$work/$cmd-resume.log"; fail "$cmd: resume after SIGTERM"; }
  grep -q "resumed from .*step_0*$step at step $step" "$work/$cmd-resume.log" ||
    { cat "$work/$cmd-resume.log"; fail "$cmd: $rel did not resume from step $step"; }
  same_outputs $cmd $sub "$work/$cmd-straight" "$work/$cmd-signal"
  # Finished relations keep only their result and metrics, not their training checkpoints.
  [ -z "$(ls -d "$work/$cmd-signal"/relations/*/checkpoints/step_* 2>/dev/null)" ] ||
    fail "$cmd: training checkpoints left behind after the relations finished"
  pass "$cmd: SIGTERM in $rel at step $step → exit 85 → resume == uninterrupted"

  # 2 ranks, one relation per group: stop after each group's 7th step, resume, compare.
  two=(--set train.steps=12)
  $KD_MPIRUN -np 2 "$kdprune" $cmd "${args[@]}" "${two[@]}" --set run_dir="$work/$cmd-two" \
    > "$work/$cmd-two.log" 2>&1 || { cat "$work/$cmd-two.log"; fail "$cmd: 2-rank run"; }
  set +e
  $KD_MPIRUN -np 2 "$kdprune" $cmd "${args[@]}" "${two[@]}" --set run_dir="$work/$cmd-two-stop" \
    --set debug.stop_after_step=7 > "$work/$cmd-two-stop.log" 2>&1
  code=$?; set -e
  [ "$code" = 85 ] || { cat "$work/$cmd-two-stop.log"; fail "$cmd: 2-rank stop exited $code"; }
  $KD_MPIRUN -np 2 "$kdprune" $cmd "${args[@]}" "${two[@]}" --set run_dir="$work/$cmd-two-stop" \
    --set debug.stop_after_step=7 > "$work/$cmd-two-resume.log" 2>&1 ||
    { cat "$work/$cmd-two-resume.log"; fail "$cmd: 2-rank resume"; }
  [ "$(grep -c "resumed from" "$work/$cmd-two-resume.log")" -ge 1 ] || fail "$cmd: 2-rank run did not resume"
  same_outputs $cmd $sub "$work/$cmd-two" "$work/$cmd-two-stop"
  pass "$cmd: 2 ranks stopped at step 7 and resumed == uninterrupted"
done
