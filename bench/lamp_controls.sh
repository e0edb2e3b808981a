#!/usr/bin/env bash
# LAMP with its controls (issue 17) on the long-profile teacher: relmask over 3 seeds with one
# prior draw per relation (the default) and with one draw shared by all relations
# (masks.shared_init), then launch/lamp_controls_table.py; with --sweep also the paper's sweeps
# at seed 1 (layers masked: 3 only, 2-3 (the default), 0-3; initial sparsity 10%, 50%, 90%);
# with --eval, stochastic masks (masks.kind: stochastic) at seed 1 evaluated by their hard mask
# and by their expectation σ(G) as the paper does, beside seed 1's deterministic masks.
#   bash bench/lamp_controls.sh [--sweep]     (~25 min on 2 cores; the sweep adds ~16 min)
#   bash bench/lamp_controls.sh --eval        (seed 1 only: ~6 min)
# Needs `bash launch/quickstart.sh --profile long` first (runs/long/pretrain/model and the
# quickstart's WordNet probes in runs/quickstart/probes).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="${KD_BUILD_DIR:-$root/build}/kdprune"
model=runs/long/pretrain/model
probes=runs/quickstart/probes
[ -f "$model/config.json" ] && [ -d "$probes/train" ] ||
  { echo "lamp_controls: needs $model and $probes (bash launch/quickstart.sh --profile long)" >&2; exit 2; }
relmask() {  # relmask RUN_DIR [--set ...]
  local run="$1"; shift
  [ -f "$run/specialisation.json" ] && { echo "== $run (done earlier)"; return 0; }
  echo "== $run"
  launch/run-local -n 2 -- "$bin" relmask --config configs/relmask-quickstart.yaml \
    --set model.dir="$model" --set probes.dir="$probes" --set train.steps=300 \
    --set train.precision=bf16 --set run_dir="$run" "$@" > "$run.log" 2>&1 ||
    { tail -20 "$run.log"; exit 1; }
}
mean_row() {  # mean_row LABEL RUN_DIR: one row of mean P@1 and sparsity over the relations
  python3 - "$@" <<'PY'
import json, sys
r = json.load(open(f"{sys.argv[2]}/relmask_report.json"))
m = lambda f: sum(f(x) for x in r) / len(r)
print(f"| {sys.argv[1]} | {m(lambda x: x['sparsity']):.3f} | {m(lambda x: x['train']['p_at_1']):.4f} | "
      f"{m(lambda x: x['test']['p_at_1']):.4f} | {m(lambda x: x['test_random_mask']['p_at_1']):.4f} | "
      f"{m(lambda x: x['test_full_model']['p_at_1']):.4f} |")
PY
}
if [ "${1:-}" = --eval ]; then
  relmask runs/long/relmask-seed1 --set seed=1
  relmask runs/long/relmask-stochastic-hard-seed1 --set seed=1 --set masks.kind=stochastic
  relmask runs/long/relmask-stochastic-expectation-seed1 --set seed=1 --set masks.kind=stochastic \
    --set masks.eval=expectation
  echo "| masks (seed 1) | sparsity (hard) | train P@1 | test P@1 | random-mask P@1 | full model P@1 |"
  echo "|---|---|---|---|---|---|"
  mean_row "deterministic, hard (default)" runs/long/relmask-seed1
  mean_row "stochastic, hard" runs/long/relmask-stochastic-hard-seed1
  mean_row "stochastic, expectation σ(G)" runs/long/relmask-stochastic-expectation-seed1
  exit 0
fi
independent=() shared=()
for seed in 1 2 3; do
  relmask "runs/long/relmask-seed$seed" --set seed=$seed
  relmask "runs/long/relmask-shared-seed$seed" --set seed=$seed --set masks.shared_init=true
  independent+=("runs/long/relmask-seed$seed")
  shared+=("runs/long/relmask-shared-seed$seed")
done
join() { local IFS=,; echo "$*"; }
python3 launch/lamp_controls_table.py "independent init=$(join "${independent[@]}")" \
  "shared init=$(join "${shared[@]}")"
[ "${1:-}" = --sweep ] || exit 0
relmask runs/long/relmask-sweep-layers-3 --set seed=1 --set masks.first_layer=3
relmask runs/long/relmask-sweep-layers-0-3 --set seed=1 --set masks.first_layer=0
relmask runs/long/relmask-sweep-init-90 --set seed=1 --set masks.init=-1.2816
relmask runs/long/relmask-sweep-init-10 --set seed=1 --set masks.init=1.2816
python3 - <<'PY'
import json
runs = [("layers 3 (1 of 4)", "layers-3"), ("layers 2-3 (default)", None),
        ("layers 0-3 (all)", "layers-0-3"), ("initial sparsity 90%", "init-90"),
        ("initial sparsity 50% (default)", None), ("initial sparsity 10%", "init-10")]
print("| masks | initial sparsity | final sparsity | flipped | mask P@1 | random-mask P@1 | full model P@1 |")
print("|---|---|---|---|---|---|---|")
for label, name in runs:
    d = f"runs/long/relmask-sweep-{name}" if name else "runs/long/relmask-seed1"
    r = json.load(open(f"{d}/relmask_report.json"))
    m = lambda f: sum(f(x) for x in r) / len(r)
    print(f"| {label} | {m(lambda x: x['initial_sparsity']):.3f} | {m(lambda x: x['sparsity']):.3f} | "
          f"{m(lambda x: x['flipped']):.3f} | {m(lambda x: x['test']['p_at_1']):.4f} | "
          f"{m(lambda x: x['test_random_mask']['p_at_1']):.4f} | {m(lambda x: x['test_full_model']['p_at_1']):.4f} |")
PY
