#!/usr/bin/env bash
# All-reduce time vs message size (4 KB - 128 MB) across 2 emulated nodes (scripts/cluster-local.sh,
# one rank per node, TCP over the link) at several link settings: raw MPI_Allreduce vs kdprune's
# GradReducer (bench/mpi_allreduce_sweep_bench), the ring model's alpha and B fitted per link
# (bench/allreduce_fit.py), and a PNG of measurements and fits.
#   bench/allreduce_nodes.sh [links="unshaped 10gbit 1gbit"] [png=docs/img/allreduce-nodes.png]
# KD_NODES=4 (default 2): that many nodes, one rank each (on 2 cores, 4 ranks share the cores:
# meaningful where the link, not the CPU, is the limit, e.g. 1gbit).
# Root (network namespaces); brings the cluster up per link and takes it down at the end.
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
links="${1:-unshaped 10gbit 1gbit}"
nodes="${KD_NODES:-2}"
png="${2:-$root/docs/img/allreduce-nodes.png}"
bench="${KD_BUILD_DIR:-$root/build}/bench/mpi_allreduce_sweep_bench"
[ -x "$bench" ] || { echo "allreduce_nodes: build $bench first (ninja -C build)" >&2; exit 1; }
cl="$root/scripts/cluster-local.sh"
trap '"$cl" down > /dev/null 2>&1 || true' EXIT
mkdir -p "$work"
runs=()
for link in $links; do
  if [ "$link" = unshaped ]; then "$cl" up "$nodes" > /dev/null; else "$cl" up "$nodes" --link "$link" > /dev/null; fi
  "$cl" hostfile > "$work/allreduce-hostfile"
  out="$work/allreduce-$link-$nodes.json"
  "$cl" exec head env OMP_NUM_THREADS=1 mpirun -np "$nodes" $root_flag --hostfile "$work/allreduce-hostfile" \
    --map-by node --bind-to none -x OMP_NUM_THREADS "$bench" --benchmark_format=json > "$out"
  runs+=("$link=$out")
  "$cl" down > /dev/null
done
$py "$root/bench/allreduce_fit.py" --ranks "$nodes" --png "$png" "${runs[@]}"
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"
