#!/usr/bin/env bash
# Relations per hour for `kdprune relmask` and `kdprune prompt` at W = 1 and W = 2 ranks (one
# thread per rank) on the embedded default: the main job's teacher and WordNet probe sets (run
# launch/quickstart.sh first), every relation, STEPS steps each, no specialisation matrix.
# Wall time includes loading, each relation's dev/test evaluation and the report.
#   bash bench/relations_per_hour.sh [STEPS] [PROFILE_DIR]   (default 50, runs/quickstart)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
steps="${1:-50}"
qs="${2:-runs/quickstart}"
bin="${KD_BUILD_DIR:-$root/build}/kdprune"
model="$(launch/summary_field "$qs/pretrain" model 2>/dev/null || echo "$qs/pretrain/model")"
[ -f "$model/config.json" ] || { echo "relations_per_hour: no teacher at $model; run launch/quickstart.sh first" >&2; exit 2; }
[ -d "$qs/probes/train" ] || { echo "relations_per_hour: no probe sets in $qs/probes" >&2; exit 2; }
out="runs/bench-relations"
mkdir -p "$out"
printf "%-8s %6s %10s %10s %14s\n" job ranks relations "wall s" "relations/h"
for job in relmask prompt; do
  for w in 1 2; do
    run="$out/$job-w$w"
    rm -rf "$run"
    t0=$(date +%s.%N)
    launch/run-local -n "$w" -- "$bin" "$job" --config "configs/$job-quickstart.yaml" \
      --set model.dir="$model" --set probes.dir="$qs/probes" --set run_dir="$run" \
      --set train.steps="$steps" --set train.schedule.warmup_steps=$((steps / 10)) \
      $([ "$job" = relmask ] && echo --set probes.specialisation_facts=0) > "$run.log" 2>&1 ||
      { tail -20 "$run.log"; exit 1; }
    t1=$(date +%s.%N)
    relations=$(launch/summary_field "$run" relations)
    awk -v j="$job" -v w="$w" -v r="$relations" -v a="$t0" -v b="$t1" \
      'BEGIN { printf "%-8s %6d %10d %10.1f %14.0f\n", j, w, r, b - a, r * 3600 / (b - a) }'
  done
done
