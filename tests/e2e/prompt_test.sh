#!/usr/bin/env bash
# `kdprune prompt` and eval-probe's side-by-side columns end to end, on a tiny teacher and
# hand-made probe sets: 3 relations on 1 rank and on 2 ranks (one relation per rank: identical
# reports), 1 relation on a 2-rank data-parallel group == 1 rank with twice the batch (same
# prompts), a re-run that keeps finished relations, the prepend style, and eval-probe --prompts
# --masks reproducing the numbers of the prompt and relmask reports.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
make_probe_fixture "$kdprune" "$data" "$work"
args=(--config configs/prompt-quickstart.yaml --set model.dir="$model" --set probes.dir="$probes"
      --set train.steps=4 --set train.schedule.warmup_steps=1 --set probes.batch_size=4)
"$kdprune" prompt "${args[@]}" --set run_dir="$work/one" > "$work/one.log" 2>&1 || { cat "$work/one.log"; fail "1-rank prompt"; }
$KD_MPIRUN -np 2 "$kdprune" prompt "${args[@]}" --set run_dir="$work/two" > "$work/two.log" 2>&1 || { cat "$work/two.log"; fail "2-rank prompt"; }
# W > R: IsA on a 2-rank group (batch 4 per rank) vs 1 rank with batch 8.
$KD_MPIRUN -np 2 "$kdprune" prompt "${args[@]}" --set "probes.relations=[IsA]" --set run_dir="$work/group" > "$work/group.log" 2>&1 ||
  { cat "$work/group.log"; fail "W > R prompt"; }
grep -q "IsA: training with 2 rank(s)" "$work/group.log" || fail "W > R: no 2-rank group"
"$kdprune" prompt "${args[@]}" --set "probes.relations=[IsA]" --set probes.batch_size=8 --set run_dir="$work/single" > "$work/single.log" 2>&1 ||
  { cat "$work/single.log"; fail "1-rank batch-8 prompt"; }
"$kdprune" prompt "${args[@]}" --set prompt.style=prepend --set "prompt.inits=[manual,random]" --set run_dir="$work/prepend" > "$work/prepend.log" 2>&1 ||
  { cat "$work/prepend.log"; fail "prepend prompt"; }
# probes.epochs: steps = ceil(epochs * facts / (batch * ranks)) = ceil(2 * 10 / (4 * 2)) = 3.
$KD_MPIRUN -np 2 "$kdprune" prompt "${args[@]}" --set "probes.relations=[IsA]" --set probes.epochs=2 \
  --set train.schedule.warmup_steps=0 --set train.schedule.warmup_fraction=0.2 --set run_dir="$work/epochs" > "$work/epochs.log" 2>&1 ||
  { cat "$work/epochs.log"; fail "prompt with probes.epochs"; }
grep -q "IsA: 10 training facts, 3 steps" "$work/epochs.log" || { cat "$work/epochs.log"; fail "probes.epochs did not set the steps"; }
# LAMP masks for the mask column.
"$kdprune" relmask --config configs/relmask-quickstart.yaml --set model.dir="$model" --set probes.dir="$probes" \
  --set masks.first_layer=1 --set train.steps=4 --set train.schedule.warmup_steps=1 --set probes.batch_size=4 \
  --set probes.specialisation_facts=0 --set run_dir="$work/relmask" > "$work/relmask.log" 2>&1 || { cat "$work/relmask.log"; fail "relmask"; }
mkdir -p "$work/some-prompts"; cp "$work/two/prompts/IsA.safetensors" "$work/two/prompts/PartOf.safetensors" "$work/some-prompts/"
$KD_MPIRUN -np 2 "$kdprune" eval-probe --model "$model" --probes "$probes/test" --masks "$work/relmask/masks" \
  --prompts "$work/two/prompts" --json "$work/eval.json" > "$work/eval.log" 2>&1 || { cat "$work/eval.log"; fail "eval-probe --masks --prompts"; }
"$kdprune" eval-probe --model "$model" --probes "$probes/test" --prompts "$work/some-prompts" \
  --json "$work/eval-some.json" > "$work/eval-some.log" 2>&1 || { cat "$work/eval-some.log"; fail "eval-probe with a missing prompt"; }
grep -q "no prompt for Antonym" "$work/eval-some.log" || fail "eval-probe did not say which prompt is missing"
# Prompts of another model (the 2-layer, 32-wide teacher's prompts on a wider model) are refused by name.
"$kdprune" pretrain --config configs/test-tiny.yaml --set "data.train=[\"$data/train/*.h5\"]" --set model.hidden_size=48 \
  --set model.intermediate_size=96 --set train.steps=2 --set run_dir="$work/wide" > "$work/wide.log" 2>&1 || { cat "$work/wide.log"; fail "wide model"; }
if "$kdprune" eval-probe --model "$work/wide/checkpoints/step_00000002/model" --probes "$probes/test" --prompts "$work/some-prompts" > /dev/null 2> "$work/wide.err"; then
  fail "eval-probe accepted prompts of another model"
fi
grep -q "IsA.safetensors: prompts of width 32 do not fit this model's hidden size 48" "$work/wide.err" || { cat "$work/wide.err"; fail "no clear error for foreign prompts"; }
/usr/bin/python3 - "$work" <<'PY' || fail "prompt reports"
import json, struct, sys
import numpy as np
w = sys.argv[1]
def prompts(path):  # safetensors by hand: 8-byte header length, JSON header, data
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n]); t = h["prompts"]; a, b = t["data_offsets"]
    return np.frombuffer(raw[8 + n + a:8 + n + b], dtype=np.float32).reshape(t["shape"]), h["__metadata__"]
one, two = (json.load(open(f"{w}/{d}/prompt_report.json")) for d in ("one", "two"))
assert [r["relation"] for r in one] == ["Antonym", "IsA", "PartOf"], one
assert one == two, "1 rank and 2 ranks (one relation per rank) must agree"
for r in one:
    t = r["test"]
    assert len(t["each"]) == 4 and t["ensemble"]["facts"] == 10 and t["manual"]["facts"] == 10, r
    assert t["prompt"] == t["each"][r["best"]], r
assert sum(r["test"]["manual"]["p_at_1"] for r in one) > 0, "the fixture's teacher must know some facts"
p, meta = prompts(f"{w}/one/prompts/IsA.safetensors")
assert p.shape == (4, 5, 32) and meta["style"] == "interleave" and meta["inits"] == "manual,vocab,vocab,random", (p.shape, meta)
g, _ = prompts(f"{w}/group/prompts/IsA.safetensors")
s, _ = prompts(f"{w}/single/prompts/IsA.safetensors")
assert np.abs(g - s).max() < 1e-6, ("2 ranks x 4 != 1 rank x 8", np.abs(g - s).max())
assert np.abs(g - p).max() > 1e-5, "batch 8 and batch 4 runs must differ (else the check is vacuous)"
pre = json.load(open(f"{w}/prepend/prompt_report.json"))
assert all(len(r["test"]["each"]) == 2 and r["test"]["ensemble"]["facts"] == 10 for r in pre), pre
# eval-probe's columns are the numbers the training reports give.
ev = json.load(open(f"{w}/eval.json"))["relations"]
masks = {r["relation"]: r for r in json.load(open(f"{w}/relmask/relmask_report.json"))}
for r in two:
    row = ev[r["relation"]]
    for col, want in (("p_at_1", r["test"]["manual"]["p_at_1"]), ):
        assert abs(row[col] - want) < 1e-12, (r["relation"], col, row, want)
    assert abs(row["prompt"]["p_at_1"] - r["test"]["prompt"]["p_at_1"]) < 1e-12, (row, r)
    assert abs(row["ensemble"]["p_at_1"] - r["test"]["ensemble"]["p_at_1"]) < 1e-12, (row, r)
    assert abs(row["mask"]["p_at_1"] - masks[r["relation"]]["test"]["p_at_1"]) < 1e-12, (row, masks)
some = json.load(open(f"{w}/eval-some.json"))["relations"]
assert "prompt" not in some["Antonym"] and "prompt" in some["IsA"], some
PY
"$kdprune" prompt "${args[@]}" --set run_dir="$work/one" > "$work/again.log" 2>&1 || fail "re-run"
[ "$(grep -c "done in an earlier run" "$work/again.log")" = 3 ] || fail "re-run did not keep the finished relations"
pass "prompt: 1 vs 2 ranks, 2-rank group == 1 rank x 2 batch, prepend, eval-probe columns, resume by relation"
