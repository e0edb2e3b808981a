#!/usr/bin/env bash
# Two builds of kdprune side by side on the main job's outputs (for a refactoring that must not
# change results or cost): relmask and prompt on the 6 WordNet relations, STEPS steps each, and
# 50 steps of the quickstart pre-training, 2 ranks, each job run with the other build first and
# then this one. Prints wall times (pretrain: tokens/s) and whether the reports / per-step
# metrics are identical.
#   bash bench/compare_builds.sh OTHER_KDPRUNE [STEPS] [PROFILE_DIR]   (50, runs/quickstart)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
other="${1:?usage: compare_builds.sh OTHER_KDPRUNE [STEPS] [PROFILE_DIR]}"
steps="${2:-50}"; qs="${3:-runs/quickstart}"
this="${KD_BUILD_DIR:-$root/build}/kdprune"
model="$(launch/summary_field "$qs/pretrain" model 2>/dev/null || echo "$qs/pretrain/model")"
[ -f "$model/config.json" ] || { echo "compare_builds: no teacher at $model; run launch/quickstart.sh first" >&2; exit 2; }
out="runs/compare-builds"; rm -rf "$out"; mkdir -p "$out"
run() {  # run NAME BIN ARGS...: wall seconds of `BIN ARGS` on 2 ranks
  local name="$1" bin="$2"; shift 2
  local t0 t1; t0=$(date +%s.%N)
  launch/run-local -n 2 -- "$bin" "$@" --set run_dir="$out/$name" > "$out/$name.log" 2>&1 ||
    { tail -20 "$out/$name.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
printf "%-9s %12s %12s %8s  %s\n" job other this ratio identical
for job in relmask prompt; do
  args=("$job" --config "configs/$job-quickstart.yaml" --set model.dir="$model" --set probes.dir="$qs/probes"
        --set train.steps="$steps" --set train.schedule.warmup_steps=$((steps / 10)))
  [ "$job" = relmask ] && args+=(--set probes.specialisation_facts=0)
  a=$(run "$job-other" "$other" "${args[@]}"); b=$(run "$job-this" "$this" "${args[@]}")
  same=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])) == json.load(open(sys.argv[2])))' \
         "$out/$job-other/${job}_report.json" "$out/$job-this/${job}_report.json")
  printf "%-9s %11.1fs %11.1fs %7.2fx  %s\n" "$job" "$a" "$b" "$(echo "$b / $a" | bc -l)" "$same"
done
args=(pretrain --config configs/quickstart.yaml --set "data.train=[\"$qs/data/train/*.h5\"]" --set train.steps=50 --set train.log_every=1)
run pretrain-other "$other" "${args[@]}" > /dev/null; run pretrain-this "$this" "${args[@]}" > /dev/null
/usr/bin/python3 - "$out/pretrain-other/metrics.jsonl" "$out/pretrain-this/metrics.jsonl" <<'PY'
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:])
keys = [k for k in a[0] if k not in ("tokens_per_s", "time_s")]
same = len(a) == len(b) and all(x[k] == y[k] for x, y in zip(a, b) for k in keys)
ta, tb = (sum(x["tokens_per_s"] for x in m[5:]) / len(m[5:]) for m in (a, b))
print(f"{'pretrain':<9} {ta:>8.0f} t/s {tb:>8.0f} t/s {tb / ta:7.2f}x  {same} (losses, terms, lr, grad norm)")
PY
