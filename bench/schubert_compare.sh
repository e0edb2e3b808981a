#!/usr/bin/env bash
# schuBERT vs its baselines at equal parameter budgets on the embedded default: the budgets are
# the parameter counts of the teacher with 1 and 2 of its top layers removed, and at each one
#   all      schuBERT-all (heads, q/k, v, filter per layer + hidden size)
#   h        schuBERT-h (hidden size only)
#   uniform  every dimension shrunk alike (the paper's "BERT-all uniform")
#   layers   the teacher's first layers ("BERT with fewer layers")
# get the same fine-tuning budget: ROUNDS rounds of STEPS fine-tune steps each with the same
# schedule per round (layers drops whole layers, so at the first budget its first round already
# drops the layer and its second only fine-tunes; it has no α phase, the others add 20 α-only
# steps per round that update the α and no weight), 2 ranks, bf16. Then held-out MLM accuracy on
# the same masked positions, each model's encoder parameters (the embedding table is most of
# this small teacher), the inference speed of every pruned model next to the teacher
# (bench/forward_speed_main.cpp), a PNG of the surviving dimensions, and every model fine-tuned
# on the embedded spam task (configs/finetune-embedded.yaml, seeds 1-3, mean ± sd).
#   bash bench/schubert_compare.sh [STEPS] [ROUNDS] [PROFILE_DIR]   (150, 2, runs/long)
# PROFILE_DIR is a main-job output (launch/quickstart.sh [--profile long]): its teacher and shards.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
steps="${1:-150}"; rounds="${2:-2}"; qs="${3:-runs/long}"
build="${KD_BUILD_DIR:-$root/build}"
teacher="$(launch/summary_field "$qs/pretrain" model 2>/dev/null || echo "$qs/pretrain/model")"
[ -f "$teacher/config.json" ] || { echo "schubert_compare: no teacher at $teacher; run launch/quickstart.sh first" >&2; exit 2; }
out="runs/schubert-compare"
mkdir -p "$out"
# Budgets: the teacher minus its top 1 and top 2 layers.
budgets=$(/usr/bin/python3 - "$teacher" "$build/kdprune" <<'PY'
import subprocess, sys
table = subprocess.run([sys.argv[2], "inspect", "--model", sys.argv[1]], capture_output=True,
                       text=True, check=True).stdout.splitlines()
total = int(next(l for l in table if l.startswith("total parameters")).split()[2])
layers = [int(l.split()[-1]) for l in table if l.strip() and l.split()[0].isdigit()]
print(total - layers[-1], total - layers[-1] - layers[-2])
PY
)
for budget in $budgets; do
  for variant in all h uniform layers; do
    run="$out/$variant-$budget"
    r=$rounds; s=$steps
    echo "== $variant at $budget parameters ($r round(s) of $s fine-tune steps) =="
    [ -f "$run/model/config.json" ] && { echo "   (done earlier)"; continue; }
    launch/run-local -n 2 -- "$build/kdprune" schubert --config configs/schubert-quickstart.yaml \
      --set model.dir="$teacher" --set "data.train=[\"$qs/data/train/*.h5\"]" \
      --set "data.heldout=[\"$qs/data/heldout/*.h5\"]" --set data.eval_batches=40 \
      --set schubert.variant=$variant --set schubert.target_params="$budget" \
      --set schubert.rounds=$r --set schubert.regularise.steps=20 --set train.steps=$s \
      --set train.schedule.warmup_steps=$((s / 10)) --set run_dir="$run" > "$run.log" 2>&1 ||
      { tail -20 "$run.log"; exit 1; }
    tail -1 "$run/rounds.jsonl" | /usr/bin/python3 -c 'import json, sys; j = json.load(sys.stdin)
print("   %d parameters, held-out MLM accuracy %.4f" % (j["params"], j["heldout_mlm_acc"]))'
  done
done

echo
# Every model fine-tuned on spam, 3 seeds (the table below reads the report).
task="$qs/tasks/spam"
[ -f "$task/task.json" ] || task="$qs/tasks/wn_gloss_pair"
models=("$teacher") labels=(teacher)
for budget in $budgets; do for v in all h uniform layers; do
  models+=("$out/$v-$budget/model"); labels+=("$v-$budget")
done; done
if [ ! -f "$out/finetune/finetune_report.json" ]; then
  echo "== fine-tuning every model on $task (3 seeds) =="
  join() { local IFS=,; echo "$*"; }
  quoted=(); for m in "${models[@]}"; do quoted+=("\"$m\""); done
  launch/run-local -n 2 -- "$build/kdprune" finetune --config configs/finetune-embedded.yaml \
    --set "finetune.models=[$(join "${quoted[@]}")]" --set "finetune.labels=[$(join "${labels[@]}")]" \
    --set "finetune.tasks=[\"$task\"]" --set run_dir="$out/finetune" > "$out/finetune.log" 2>&1 ||
    { tail -20 "$out/finetune.log"; exit 1; }
fi

echo "== held-out MLM accuracy and downstream at equal parameters (teacher: round 0) =="
/usr/bin/python3 - "$out" "$build/kdprune" "$teacher" $budgets <<'PY'
import json, subprocess, sys
out, kdprune, teacher_dir, budgets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
names = {"all": "schuBERT-all", "h": "schuBERT-h", "uniform": "uniform shrink", "layers": "fewer layers"}
def encoder(model_dir):
    info = subprocess.run([kdprune, "inspect", "--json", "--model", model_dir],
                          capture_output=True, text=True, check=True).stdout
    return json.loads(info)["parameters"]["encoder"]
report = json.load(open(f"{out}/finetune/finetune_report.json"))
metric = next(iter(report["tasks"].values()))["metric"]
down = {r["model"]: r["test"][metric] for r in report["summary"]}
def cell(label):
    d = down[label]
    return f"{d['mean']:.4f} ± {d['sd']:.4f}"
teacher = None
print(f"| budget | variant | parameters | encoder parameters | held-out MLM acc | test {metric} (seeds 1-3) | per-layer F |")
print("|---|---|---|---|---|---|---|")
for b in budgets:
    for v in names:
        rounds = [json.loads(l) for l in open(f"{out}/{v}-{b}/rounds.jsonl")]
        teacher = rounds[0]
        cfg = json.load(open(f"{out}/{v}-{b}/model/config.json"))
        F = cfg.get("layer_intermediate_size", [cfg["intermediate_size"]] * cfg["num_hidden_layers"])
        print(f"| {int(b)/1e6:.2f}M | {names[v]} | {rounds[-1]['params']:,} | {encoder(f'{out}/{v}-{b}/model'):,} "
              f"| {rounds[-1]['heldout_mlm_acc']:.4f} | {cell(f'{v}-{b}')} | {F} (H={cfg['hidden_size']}) |")
print(f"| teacher | unpruned | {teacher['params']:,} | {encoder(teacher_dir):,} | {teacher['heldout_mlm_acc']:.4f} | {cell('teacher')} | |")
PY

echo
echo "== inference speed (forward of MLM + NSP heads, batch 32 x 64 tokens, 1 thread, fp32) =="
dirs=()
for budget in $budgets; do for v in all h uniform layers; do dirs+=("$out/$v-$budget/model"); done; done
OMP_NUM_THREADS=1 "$build/bench/forward_speed" --seq 64 --reps 10 "$teacher" "${dirs[@]}"

plot_args=(teacher="$teacher")
for v in all h uniform layers; do plot_args+=("$v=$out/$v-$(echo $budgets | cut -d' ' -f2)/model"); done
/usr/bin/python3 launch/plot_schubert.py docs/img/schubert-dims.png "${plot_args[@]}"
