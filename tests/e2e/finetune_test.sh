#!/usr/bin/env bash
# `kdprune finetune` end to end on a tiny teacher and fixture tasks (tools/make_finetune_fixtures.py):
#  - 2 ranks with batch B == 1 rank with batch 2B (dropout 0: the same examples per step, the
#    same losses to fp32 rounding, the same dev accuracy up to a flipped near-tie);
#  - seeds over rank groups: 2 ranks, seeds [1, 2] (one group each) == each seed alone on 1 rank
#    (identical losses and results), and the report's mean ± sd of those values;
#  - stop in the middle of a run (exit 85, no report) and re-run == uninterrupted;
#  - GLUE's nine formats end to end with their submission files; the best dev checkpoint in
#    Hugging Face's BertForSequenceClassification layout; a random-init baseline;
#  - bad input: an unknown label, a missing text pair, an empty file, a missing column → a clear
#    error naming file and line, and no report.
source "$(dirname "$0")/common.sh"
kdprune="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
cd "$KD_SOURCE_DIR"
tiny_teacher "$kdprune" "$data" "$work/teacher"
/usr/bin/python3 tests/e2e/tools/make_finetune_fixtures.py "$work/fx"
toy="$work/fx/tasks/toy"
base=(--config configs/finetune-quickstart.yaml --set "finetune.models=[\"$teacher\"]"
      --set "finetune.tasks=[\"$toy\"]" --set finetune.dropout=0 --set finetune.epochs=2
      --set finetune.eval_every=4 --set train.precision=fp32 --set train.log_every=1 --set log_level=warn)
run() {  # run NAME NP ARGS...: kdprune finetune into $work/NAME, log in $work/NAME.log
  local name="$1" np="$2"; shift 2
  local launcher=()
  [ "$np" -gt 1 ] && launcher=($KD_MPIRUN -np "$np")
  "${launcher[@]}" "$kdprune" finetune "${base[@]}" --set run_dir="$work/$name" "$@" > "$work/$name.log" 2>&1
}
run one 1 --set finetune.batch_size=8 --set "finetune.seeds=[1]" || { cat "$work/one.log"; fail "1 rank"; }
run two 2 --set finetune.batch_size=4 --set "finetune.seeds=[1]" || { cat "$work/two.log"; fail "2 ranks"; }
run alone2 1 --set finetune.batch_size=8 --set "finetune.seeds=[2]" || { cat "$work/alone2.log"; fail "seed 2 alone"; }
run seeds 2 --set finetune.batch_size=8 --set "finetune.seeds=[1,2]" || { cat "$work/seeds.log"; fail "seeds over groups"; }
/usr/bin/python3 - "$work" <<'PY' || fail "data parallel / seeds over groups"
import json, math, sys
w = sys.argv[1]
def losses(run, name):
    return [json.loads(l)["loss"] for l in open(f"{w}/{run}/runs/{name}/metrics.jsonl")]
def result(run, name):
    return json.load(open(f"{w}/{run}/runs/{name}.json"))
t = "teacher.toy"
one, two = losses("one", f"{t}.s1"), losses("two", f"{t}.s1")
assert len(one) == 16 and len(one) == len(two), (one, two)  # 2 epochs × 64 examples / 8 per step
for a, b in zip(one, two):
    assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), ("2 ranks × B != 1 rank × 2B", one, two)
r1, r2 = result("one", f"{t}.s1"), result("two", f"{t}.s1")
assert r2["ranks"] == 2 and r1["ranks"] == 1
assert [e["step"] for e in r1["evaluations"]] == [4, 8, 12, 16], r1["evaluations"]
# Dev accuracy on 16 examples: the same, or one prediction apart where fp32 rounding of a
# near-tie (this tiny teacher is near chance) flips an argmax.
for a, b in zip(r1["evaluations"], r2["evaluations"]):
    assert abs(a["dev"]["accuracy"] - b["dev"]["accuracy"]) <= 1 / 16 + 1e-12, (a, b)
# Seeds over groups: each run equals the same seed alone on one rank, bit for bit.
assert losses("seeds", f"{t}.s1") == one
assert losses("seeds", f"{t}.s2") == losses("alone2", f"{t}.s2")
assert losses("seeds", f"{t}.s2") != one, "seeds 1 and 2 trained identically"
s1, s2 = result("seeds", f"{t}.s1"), result("seeds", f"{t}.s2")
assert s1["ranks"] == 1 and s2["ranks"] == 1, "2 runs on 2 ranks: one group of one rank each"
assert s1["evals"] == r1["evals"] and s2["evals"] == result("alone2", f"{t}.s2")["evals"]
report = json.load(open(f"{w}/seeds/finetune_report.json"))
row = report["summary"][0]
assert row["model"] == "teacher" and row["seeds"] == [1, 2], row
vals = [s1["evals"]["test"]["f1"], s2["evals"]["test"]["f1"]]
mean = sum(vals) / 2
sd = math.sqrt(sum((v - mean) ** 2 for v in vals))  # n - 1 = 1
assert abs(row["test"]["f1"]["mean"] - mean) < 1e-12 and abs(row["test"]["f1"]["sd"] - sd) < 1e-12, row
maj = report["tasks"]["toy"]["majority"]
assert maj["predict"] in ("other", "defines") and 0 <= maj["test"]["accuracy"] <= 1, maj
PY
pass "finetune: 2 ranks × B == 1 rank × 2B; seeds over rank groups == alone; report mean ± sd"

# Stop in the middle of seed 1's run (step 3 of 8), then resume: the same as uninterrupted.
set +e
run stop 1 --set finetune.batch_size=8 --set "finetune.seeds=[1,2]" --set debug.stop_after_step=3
code=$?
set -e
[ "$code" = 85 ] || { cat "$work/stop.log"; fail "stop: exit $code, expected 85"; }
[ ! -e "$work/stop/finetune_report.json" ] || fail "a stopped job wrote a report"
run stop 1 --set finetune.batch_size=8 --set "finetune.seeds=[1,2]" --set log_level=info || { cat "$work/stop.log"; fail "resume"; }
grep -q "resumed from" "$work/stop.log" || fail "the re-run did not resume from the checkpoint"
/usr/bin/python3 - "$work" <<'PY' || fail "stop/resume != uninterrupted"
import json, sys
w = sys.argv[1]
for s in (1, 2):
    n = f"teacher.toy.s{s}"
    a = [json.loads(l)["loss"] for l in open(f"{w}/stop/runs/{n}/metrics.jsonl")]
    b = [json.loads(l)["loss"] for l in open(f"{w}/seeds/runs/{n}/metrics.jsonl")]
    assert a == b, (s, a, b)
    ra, rb = (json.load(open(f"{w}/{d}/runs/{n}.json")) for d in ("stop", "seeds"))
    assert ra["evals"] == rb["evals"] and ra["best_step"] == rb["best_step"], (ra, rb)
PY
pass "finetune: stop in the middle of a run and resume == uninterrupted"

# GLUE's nine formats, a random-init baseline, the HF layout of the best checkpoint.
g="$work/fx/glue"
tasks="[\"$g/CoLA\",\"$g/SST-2\",\"$g/MRPC\",\"$g/STS-B\",\"$g/QQP\",\"$g/MNLI\",\"$g/QNLI\",\"$g/RTE\",\"$g/WNLI\"]"
run glue 2 --set "finetune.tasks=$tasks" --set "finetune.models=[\"$teacher\",\"random:$teacher\"]" \
  --set finetune.epochs=1 --set finetune.batch_size=4 --set finetune.eval_every=0 ||
  { cat "$work/glue.log"; fail "GLUE formats"; }
/usr/bin/python3 - "$work" <<'PY' || fail "GLUE runs"
import json, os, sys
w = sys.argv[1]
report = json.load(open(f"{w}/glue/finetune_report.json"))
assert report["models"] == ["teacher", "teacher-random"], report["models"]
assert len(report["runs"]) == 18, len(report["runs"])
metric = {"CoLA": "mcc", "SST-2": "accuracy", "MRPC": "f1", "STS-B": "pearson", "QQP": "f1",
          "MNLI": "accuracy", "QNLI": "accuracy", "RTE": "accuracy", "WNLI": "accuracy"}
files = {"CoLA": ["CoLA.tsv"], "SST-2": ["SST-2.tsv"], "MRPC": ["MRPC.tsv"], "STS-B": ["STS-B.tsv"],
         "QQP": ["QQP.tsv"], "MNLI": ["MNLI-m.tsv", "MNLI-mm.tsv"], "QNLI": ["QNLI.tsv"],
         "RTE": ["RTE.tsv"], "WNLI": ["WNLI.tsv"]}
labels = {"CoLA": {"0", "1"}, "SST-2": {"0", "1"}, "MRPC": {"0", "1"}, "QQP": {"0", "1"},
          "MNLI": {"contradiction", "entailment", "neutral"}, "QNLI": {"entailment", "not_entailment"},
          "RTE": {"entailment", "not_entailment"}, "WNLI": {"0", "1"}}
assert report["tasks"]["QQP"]["skipped_rows"] == 1, report["tasks"]["QQP"]
for task, m in metric.items():
    info = report["tasks"][task]
    assert info["metric"] == m, (task, info)
    for run in report["runs"]:
        if run["task"] != task:
            continue
        assert m in run["evals"]["dev"], run
        if task == "MNLI":
            assert "accuracy" in run["evals"]["dev_mismatched"], run
        d = f"{w}/glue/runs/{run['run']}"
        for f in files[task]:
            rows = open(f"{d}/predictions/{f}").read().splitlines()
            assert rows[0] == "index\tprediction" and len(rows) == 5, (f, rows)
            assert [r.split("\t")[0] for r in rows[1:]] == ["0", "1", "2", "3"], rows
            for r in rows[1:]:
                p = r.split("\t")[1]
                if task == "STS-B":
                    float(p)
                else:
                    assert p in labels[task], (task, p)
        cfg = json.load(open(f"{d}/best/config.json"))
        assert cfg["architectures"] == ["BertForSequenceClassification"], cfg
        assert cfg["num_labels"] == (1 if task == "STS-B" else len(labels[task])), cfg
PY
[ -s "$work/glue/finetune_report.txt" ] || fail "no report table"
grep -q "majority class" "$work/glue/finetune_report.txt" || fail "report table lacks the majority row"
pass "finetune: GLUE's nine formats, submission files, HF layout, random-init baseline"

# Bad input: a clear error naming file and line, and no report.
bad() {  # bad NAME EXPECTED-MESSAGE: the task $work/bad/NAME must fail with that message
  local name="$1" expect="$2"
  set +e
  "$kdprune" finetune "${base[@]}" --set "finetune.tasks=[\"$work/bad/$name\"]" \
    --set run_dir="$work/bad-$name" > "$work/bad-$name.log" 2>&1
  local code=$?
  set -e
  [ "$code" != 0 ] || fail "$name: accepted"
  grep -qF "$expect" "$work/bad-$name.log" || { cat "$work/bad-$name.log"; fail "$name: no '$expect'"; }
  [ ! -e "$work/bad-$name/finetune_report.json" ] || fail "$name: a report was written"
}
mkbad() { mkdir -p "$work/bad/$1"; cp "$toy"/*.tsv "$toy/task.json" "$work/bad/$1/"; }
mkbad label; printf 'dog\ta dog\tmaybe\n' >> "$work/bad/label/train.tsv"
bad label "train.tsv:66: unknown toy label 'maybe'"
mkbad pair; printf 'dog\t\tother\n' >> "$work/bad/pair/dev.tsv"
bad pair "dev.tsv:18: toy needs a text pair"
mkbad empty; : > "$work/bad/empty/train.tsv"
bad empty "train.tsv: no toy examples"
mkbad column; printf 'dog\tother\n' >> "$work/bad/column/test.tsv"
bad column "test.tsv:18: 2 column(s), the header has 3"
mkdir -p "$work/bad/MYTASK"
bad MYTASK "not a GLUE task name"
pass "finetune: bad input is a clear error with file and line, and no report"
