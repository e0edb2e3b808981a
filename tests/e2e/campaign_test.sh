#!/usr/bin/env bash
# `kdprune campaign` on 4 ranks (oversubscribed: correctness only):
#   - distill (2 ranks) + relmask (1) + schubert (1) at once give every stage exactly what it
#     gives alone on the same number of ranks (losses, models, masks, reports bit for bit);
#   - a stage reading ${distill.model} starts after distill ended and probes that model;
#   - SIGTERM mid-campaign → exit 85 → rerun: finished stages skipped, the others resume, and
#     every stage's result equals the uninterrupted campaign's;
#   - a failing stage: on_error abort ends every rank within 30 s naming the stage; on_error
#     continue lets the other stages finish, skips its dependants and marks it failed;
#   - invalid plans (cycle, unknown stage, too many ranks, a ${...} to nothing, unknown command,
#     a key the command does not have) are refused before anything runs, naming the problem.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
make_probe_fixture "$kdprune" "$data" "$work"

# The three stage configs written out in full, read the same way alone and in the campaign.
"$kdprune" distill --config configs/test-distill.yaml --set teacher.dir="$model" \
  --set "data.train=[\"$data/train/*.h5\"]" --set "data.heldout=[\"$data/heldout/*.h5\"]" \
  --set train.steps=10 --set train.checkpoint_every=2 --dump-config > "$work/distill.yaml"
"$kdprune" relmask --config configs/relmask-quickstart.yaml --set model.dir="$model" \
  --set probes.dir="$probes" --set masks.first_layer=1 --set train.steps=8 \
  --set train.schedule.warmup_steps=2 --set probes.batch_size=4 --set train.precision=fp32 \
  --dump-config > "$work/relmask.yaml"
"$kdprune" schubert --config configs/schubert-quickstart.yaml --set model.dir="$model" \
  --set "data.train=[\"$data/train/*.h5\"]" --set "data.heldout=[\"$data/heldout/*.h5\"]" \
  --set data.batch_size=4 --set data.eval_batches=2 --set train.precision=fp32 \
  --set schubert.target_fraction=0.9 --set schubert.rounds=1 --set schubert.regularise.steps=2 \
  --set train.steps=4 --set train.checkpoint_every=2 --set train.schedule.warmup_steps=1 \
  --dump-config > "$work/schubert.yaml"

$KD_MPIRUN -np 2 "$kdprune" distill --config "$work/distill.yaml" --set run_dir="$work/alone/distill" \
  > "$work/alone-distill.log" 2>&1 || { cat "$work/alone-distill.log"; fail "distill alone"; }
"$kdprune" relmask --config "$work/relmask.yaml" --set run_dir="$work/alone/relmask" \
  > "$work/alone-relmask.log" 2>&1 || { cat "$work/alone-relmask.log"; fail "relmask alone"; }
"$kdprune" schubert --config "$work/schubert.yaml" --set run_dir="$work/alone/schubert" \
  > "$work/alone-schubert.log" 2>&1 || { cat "$work/alone-schubert.log"; fail "schubert alone"; }

# campaign_yaml DIR [ON_ERROR] [RELMASK_PROBES]: the test campaign.
campaign_yaml() {
  cat <<EOF
campaign_dir: $1
on_error: ${2:-abort}
failure_grace_s: 10
stages:
  distill: {command: distill, config: $work/distill.yaml, ranks: 2}
  relmask: {command: relmask, config: $work/relmask.yaml, ranks: 1, set: {probes.dir: ${3:-$probes}}}
  schubert: {command: schubert, config: $work/schubert.yaml, ranks: 1}
  probe:
    command: eval-probe
    args: [--model, "\${distill.model}", --probes, $probes/test, --json, "\${probe.run_dir}/result.json"]
  probe-masks:
    command: eval-probe
    args: [--model, $model, --probes, $probes/test, --masks, "\${relmask.run_dir}/masks",
           --json, "\${probe-masks.run_dir}/result.json"]
EOF
}
campaign_yaml "$work/c1" > "$work/c1.yaml"
"$kdprune" campaign --config "$work/c1.yaml" --dry-run --world 4 > "$work/dry.log" 2>&1 ||
  { cat "$work/dry.log"; fail "dry run"; }
grep -q "expected makespan" "$work/dry.log" || fail "dry run printed no plan"
# --json: the same plan, with each stage's scaling curve under the cost model (a per-rank-batch
# trainer: flat plus its gradient all-reduce, growing with r; a unit-split stage: work/min(r, units))
"$kdprune" campaign --config "$work/c1.yaml" --dry-run --world 4 --json "$work/dry.json" \
  --set stages.relmask.cost_s=60 > /dev/null 2>&1 || fail "dry run --json"
/usr/bin/python3 - "$work/dry.json" <<'PY' || fail "dry-run JSON: scaling curves"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["world"] == 4 and p["makespan_s"] > 0
st = {s["stage"]: s for s in p["stages"]}
assert st["relmask"]["work_s_one_rank"] == 60
for s in p["stages"]:
    d = {int(r): v for r, v in s["duration_s_by_ranks"].items()}
    assert sorted(d) == [2 ** k for k in range(11)], d
    assert abs(d[1] - s["work_s_one_rank"]) < 1e-9 * max(1, d[1]), s["stage"]
    if s["per_rank_batch"]:
        assert s["sync_steps"] > 0 and s["sync_bytes"] > 0, s["stage"]
        assert all(d[2 * r] > d[r] for r in d if 2 * r in d), (s["stage"], d)
    else:
        for r, v in d.items():
            assert abs(v - s["work_s_one_rank"] / min(r, s["units"])) < 1e-9 * max(1, v), (s["stage"], r)
    n = len(s["ranks"])
    if n in d:  # the planned span is the curve's value at the stage's ranks (at least 1 ms)
        assert abs(s["end_s"] - s["start_s"] - max(1e-3, d[n])) < 1e-6 * max(1, s["end_s"]), s["stage"]
PY
[ ! -e "$work/c1" ] || fail "a dry run created the campaign directory"

$KD_MPIRUN -np 4 "$kdprune" campaign --config "$work/c1.yaml" > "$work/c1.log" 2>&1 ||
  { cat "$work/c1.log"; fail "campaign on 4 ranks"; }

# same_results A B: each stage's results in campaign dir B equal those in dir A (alone or campaign).
same_results() {
  local a="$1" b="$2"
  diff <(losses "$a/distill/metrics.jsonl") <(losses "$b/distill/metrics.jsonl") ||
    fail "distill: losses differ ($a vs $b)"
  [ "$(losses "$b/distill/metrics.jsonl" | wc -l)" = 10 ] || fail "distill: expected 10 steps in $b"
  cmp "$a/distill/model/model.safetensors" "$b/distill/model/model.safetensors" ||
    fail "distill: final models differ ($a vs $b)"
  cmp "$a/schubert/model/model.safetensors" "$b/schubert/model/model.safetensors" ||
    fail "schubert: pruned models differ ($a vs $b)"
  cmp "$a/relmask/relmask_report.json" "$b/relmask/relmask_report.json" || fail "relmask: reports differ"
  for f in "$a/relmask/masks"/*.safetensors; do
    cmp -s "$f" "$b/relmask/masks/$(basename "$f")" || fail "relmask: $(basename "$f") differs ($a vs $b)"
  done
}
same_results "$work/alone" "$work/c1"
pass "distill (2 ranks) + relmask (1) + schubert (1) in one 4-rank campaign == each alone"

/usr/bin/python3 - "$work/c1" "$model" <<'PY' || fail "campaign order, references or report"
import json, sys, os
d, model = sys.argv[1], sys.argv[2]
st = {s: json.load(open(f"{d}/{s}/stage.json")) for s in ["distill", "relmask", "schubert", "probe", "probe-masks"]}
for s, j in st.items():
    assert j["status"] == "done", (s, j)
assert st["probe"]["runs"][-1]["started"] >= st["distill"]["runs"][-1]["ended"], "probe started before distill ended"
assert st["probe-masks"]["runs"][-1]["started"] >= st["relmask"]["runs"][-1]["ended"]
assert len(set(st["distill"]["ranks"]) | set(st["relmask"]["ranks"]) | set(st["schubert"]["ranks"])) == 4
r = json.load(open(f"{d}/probe/result.json"))
assert r["model"] == f"{d}/distill/model", r["model"]
m = json.load(open(f"{d}/probe-masks/result.json"))
assert "mask" in m["average"], m["average"]
rep = json.load(open(f"{d}/campaign_report.json"))
rows = {s["stage"]: s for s in rep["stages"]}
assert set(rows) == set(st) and all(s["status"] == "done" for s in rows.values())
assert rows["distill"]["results"]["heldout_mlm_acc"] >= 0 and rows["schubert"]["results"]["parameters"] > 0
assert abs(rows["probe"]["results"]["probe_p_at_1"] - r["average"]["p_at_1"]) < 1e-12
manual = [v["p_at_1"] for k, v in r["relations"].items() if "(held-out template)" not in k]
heldout = [v["p_at_1"] for k, v in r["relations"].items() if "(held-out template)" in k]
assert abs(rows["probe"]["results"]["probe_p_at_1_manual"] - sum(manual) / len(manual)) < 1e-12
# (these probe sets have no held-out-template rows, so that mean is absent)
assert not heldout and "probe_p_at_1_heldout_templates" not in rows["probe"]["results"]
for p in ["plan.json", "plan.txt", "campaign_report.txt", "campaign.yaml"]:
    assert os.path.getsize(f"{d}/{p}") > 0, p
PY
[ -s "$work/c1/timeline.png" ] || fail "no timeline PNG"
grep -q "campaign makespan" "$work/c1.log" || fail "no report table in the job output"
pass "needs and \${...} references: dependants start after their needs and read their outputs; report + timeline"

# Stop mid-campaign and resume: SIGTERM to every rank (as Slurm delivers it to each task) once
# distill has its first checkpoint.
campaign_yaml "$work/c2" > "$work/c2.yaml"
$KD_MPIRUN -np 4 "$kdprune" campaign --config "$work/c2.yaml" > "$work/c2-first.log" 2>&1 &
job=$!
for _ in $(seq 600); do
  [ -e "$work/c2/distill/checkpoints/latest" ] && break
  sleep 0.1
done
[ -e "$work/c2/distill/checkpoints/latest" ] || { kill "$job"; fail "distill never checkpointed"; }
pkill -TERM -f "^$kdprune campaign --config $work/c2.yaml" || true  # the ranks, not mpirun
set +e; wait "$job"; code=$?; set -e
[ "$code" = 85 ] || { cat "$work/c2-first.log"; fail "stopped campaign exited with $code, expected 85"; }
grep -q '"status": "stopped"' "$work/c2/distill/stage.json" || fail "distill not marked stopped"
$KD_MPIRUN -np 4 "$kdprune" campaign --config "$work/c2.yaml" > "$work/c2-second.log" 2>&1 ||
  { cat "$work/c2-second.log"; fail "resumed campaign"; }
grep -q "stage relmask: done in an earlier run, skipped" "$work/c2-second.log" || fail "relmask was not skipped"
grep -q "resumed from .*distill/checkpoints/step_" "$work/c2/distill/logs/rank0.log" ||
  fail "distill did not resume from its checkpoint"
same_results "$work/c1" "$work/c2"
cmp "$work/c1/probe/result.json" <(sed "s#$work/c2/#$work/c1/#" "$work/c2/probe/result.json") ||
  fail "probe of the resumed campaign differs"
pass "SIGTERM mid-campaign → 85 → rerun: every stage's result == the uninterrupted campaign's"

# A failing stage (relmask on probe sets that do not exist).
campaign_yaml "$work/c3" abort "$work/no-such-probes" > "$work/c3.yaml"
start=$(date +%s)
set +e
$KD_MPIRUN -np 4 "$kdprune" campaign --config "$work/c3.yaml" --set stages.distill.set.train.steps=100000 \
  > "$work/c3.log" 2>&1
code=$?
set -e
elapsed=$(( $(date +%s) - start ))
[ "$code" != 0 ] || fail "a failing stage under on_error abort exited 0"
grep -q "campaign stage 'relmask' (relmask" "$work/c3.log" || { cat "$work/c3.log"; fail "the abort does not name the stage"; }
grep -q "no-such-probes" "$work/c3.log" || fail "the abort does not carry the stage's message"
[ "$elapsed" -lt 60 ] || fail "abort took $elapsed s (a 100000-step distill was running beside it)"
pass "on_error abort: the job ended in $elapsed s (start-up included) naming the stage and its error"

campaign_yaml "$work/c4" continue "$work/no-such-probes" > "$work/c4.yaml"
set +e
$KD_MPIRUN -np 4 "$kdprune" campaign --config "$work/c4.yaml" > "$work/c4.log" 2>&1
code=$?
set -e
[ "$code" = 1 ] || { cat "$work/c4.log"; fail "on_error continue with a failed stage exited $code, expected 1"; }
/usr/bin/python3 - "$work/c4" <<'PY' || fail "continue: statuses"
import json, sys
rows = {s["stage"]: s for s in json.load(open(f"{sys.argv[1]}/campaign_report.json"))["stages"]}
want = {"distill": "done", "schubert": "done", "probe": "done", "relmask": "failed", "probe-masks": "skipped"}
got = {k: v["status"] for k, v in rows.items()}
assert got == want, got
assert "no-such-probes" in rows["relmask"]["error"], rows["relmask"]["error"]
PY
pass "on_error continue: the other stages finished, the failed one and its dependant are marked"

# Invalid plans: refused before any work, naming the problem.
refuse() {  # refuse WHAT PATTERN YAML-TEXT
  printf '%s\n' "$3" > "$work/bad.yaml"
  set +e
  $KD_MPIRUN -np 2 "$kdprune" campaign --config "$work/bad.yaml" > "$work/bad.log" 2>&1
  local code=$?
  set -e
  [ "$code" != 0 ] || fail "$1: accepted"
  grep -q -- "$2" "$work/bad.log" || { cat "$work/bad.log"; fail "$1: message lacks '$2'"; }
  [ ! -e "$work/bad" ] || fail "$1: the campaign directory was created"
}
head='campaign_dir: '"$work"'/bad
stages:'
refuse cycle "cycle: a -> b -> a" "$head
  a: {command: eval-probe, args: [--model, m], needs: [b]}
  b: {command: eval-probe, args: [--model, m], needs: [a]}"
refuse "unknown stage" "needs: no stage 'nope'" "$head
  a: {command: eval-probe, args: [--model, m], needs: [nope]}"
refuse "too many ranks" "ranks is 3 but the job has 2" "$head
  a: {command: pretrain, config: configs/test-tiny.yaml, ranks: 3}"
refuse "reference to nothing" "refers to no stage 'ghost'" "$head
  a: {command: eval-probe, args: [--model, \"\${ghost.model}\"]}"
refuse "unknown command" "unknown command 'distil'" "$head
  a: {command: distil, config: configs/test-distill.yaml}"
refuse "unknown config key" "stps" "$head
  a: {command: pretrain, config: configs/test-tiny.yaml, set: {train.stps: 3}}"
pass "invalid campaigns refused before any work"

# Every shipped campaign plans (its stage configs read and checked) on 2 and 64 ranks.
for f in configs/*-campaign.yaml; do
  for n in 2 64; do
    "$kdprune" campaign --config "$f" --dry-run --world $n > "$work/plan.log" 2>&1 ||
      { cat "$work/plan.log"; fail "$f does not plan on $n ranks"; }
  done
done
pass "shipped campaigns plan"
