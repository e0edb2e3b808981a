#!/usr/bin/env bash
# Loss curves of the gradient-reduction options against the default reduction: pretrain of the
# quickstart model on the main job's corpus (runs/quickstart/data, made by launch/quickstart.sh),
# 2 ranks on this host, same seed and data order, one run per mode:
#   default   buckets reduced in backward's hooks
#   defer     + the tied word embedding's lookup rows deferred (dist.defer_embedding_grad):
#             the same sums in another order, so the curves should agree to rounding
#   bf16      + buckets all-reduced in bf16 (dist.grad_bf16): rounding of every gradient
# Prints per mode the largest and the mean |loss - default loss| over the steps and the mean loss
# of the last 20 steps; writes the curves to PNG (optional 3rd argument). "defer" shows how far
# rounding alone moves a curve (training amplifies any difference), the yardstick for bf16.
#   bench/reduction_losses.sh [steps=300] [precision=bf16] [png]
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
steps="${1:-300}"; prec="${2:-bf16}"; png="${3:-}"
ls "$root"/runs/quickstart/data/train/*.h5 > /dev/null 2>&1 ||
  { echo "reduction_losses: no runs/quickstart/data: run bash launch/quickstart.sh first" >&2; exit 1; }
declare -A flags=(
  [default]=""
  [defer]="--set dist.defer_embedding_grad=true"
  [bf16]="--set dist.defer_embedding_grad=true --set dist.grad_bf16=true")
for mode in default defer bf16; do
  [ -n "${KD_REPORT_ONLY:-}" ] && break  # re-print from the runs already made
  run="$work/losses-$mode"
  rm -rf "$run"
  # shellcheck disable=SC2086 # the flags' words
  (cd "$root" && OMP_NUM_THREADS=1 mpirun -np 2 $root_flag --bind-to core --map-by core \
    -x OMP_NUM_THREADS "$bin" pretrain --config configs/quickstart.yaml --set run_dir="$run" \
    --set train.steps="$steps" --set train.log_every=1 --set train.precision="$prec" \
    --set train.checkpoint_every=0 --set resume=never ${flags[$mode]}) > "$run.log" 2>&1 ||
    { cat "$run.log" >&2; exit 1; }
done
$py - "$work" "$png" <<'PY'
import json, sys
work, png = sys.argv[1:3]
curves = {m: [json.loads(l)["loss"] for l in open(f"{work}/losses-{m}/metrics.jsonl")]
          for m in ("default", "defer", "bf16")}
base = curves["default"]
print("| reduction | largest abs(loss - default) | mean abs(loss - default) | mean loss, last 20 steps |")
print("|---|---|---|---|")
for m, c in curves.items():
    diffs = [abs(a - b) for a, b in zip(c, base)]
    print(f"| {m} | {max(diffs):.4f} | {sum(diffs) / len(diffs):.4f} | {sum(c[-20:]) / 20:.4f} |")
if png:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for m, c in curves.items():
        ax.plot(range(1, len(c) + 1), c, label=m, linewidth=1)
    ax.set_xlabel("step"); ax.set_ylabel("loss (MLM + NSP, 2-rank mean)")
    ax.set_title("quickstart pretrain, 2 ranks: gradient reduction options")
    ax.legend(); fig.tight_layout(); fig.savefig(png, dpi=110)
PY
