#!/usr/bin/env bash
# scripts/cluster-local.sh: a 2-node cluster comes up (twice: idempotent), its addresses exist only
# inside its namespaces, its links are shaped, mpirun places ranks on both nodes through
# scripts/cluster-rsh and they train exactly as 2 ranks on this host do; likewise 4 nodes and 4
# ranks (oversubscribed); `down` leaves nothing.
#   tests/e2e/cluster_test.sh KDPRUNE_BIN DATA_DIR
# Exit 77 (skip) only when iproute2/util-linux/Slurm/munge programs are missing.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/tests/e2e/common.sh"
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DATA=$(cd "$2" && pwd)
cd "$ROOT"  # configs name paths relative to the checkout
export PATH=$PATH:/usr/sbin
for t in ip tc nsenter unshare slurmctld slurmd munged sbatch; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
CL=$ROOT/scripts/cluster-local.sh
export KD_CLUSTER_DIR=$(mktemp -d /var/tmp/kd-cluster-test.XXXXXX) KD_CLUSTER_PREFIX=kdct
NET=${KD_CLUSTER_NET:-10.213.7}
WORK=$KD_CLUSTER_DIR/work
mkdir -p "$WORK"
netns_mounted_before=$(mountpoint -q /run/netns 2>/dev/null && echo 1 || echo 0)
trap '"$CL" down >/dev/null 2>&1 || true; rm -rf "$KD_CLUSTER_DIR"' EXIT

"$CL" up 2 --link 1gbit || fail "cluster-local.sh up 2 failed"
pids=$(cat "$KD_CLUSTER_DIR"/run/*.pid | sort | tr '\n' ' ')
"$CL" up 2 --link 1gbit >/dev/null || fail "a second 'up 2' failed"
[ "$(cat "$KD_CLUSTER_DIR"/run/*.pid | sort | tr '\n' ' ')" = "$pids" ] ||
  fail "a second 'up' restarted daemons (idempotent expected)"
"$CL" status | grep -q "node2 .*idle" || { "$CL" status; fail "node2 not idle"; }

# Isolation: no address or route into the cluster's /24 from this host's own namespace.
! ip -4 addr | grep -q " $NET\." || fail "an address of $NET.0/24 exists in the host namespace"
! ip route | grep -q "^$NET\." || fail "the host namespace has a route into $NET.0/24"
# Each host has its own name and reaches the others by name.
[ "$("$CL" exec node1 hostname)" = node1 ] || fail "node1's hostname is not node1"
"$CL" exec node1 bash -c "exec 3<>/dev/tcp/head/6817" || fail "node1 cannot reach slurmctld on head"
# Shaping: both directions of node1's link carry a 1 Gbit/s token bucket.
tc -n kdct-node1 qdisc show dev eth0 | grep -q "tbf .*rate 1Gbit" || fail "node1 eth0 not shaped"
tc -n kdct-sw qdisc show dev v-node1 | grep -q "tbf .*rate 1Gbit" || fail "switch port of node1 not shaped"
# --delay needs netem: accepted where the kernel has it, else refused naming the reason.
if out=$("$CL" up 2 --delay 20us 2>&1); then
  tc -n kdct-node1 qdisc show dev eth0 | grep -q netem || fail "--delay accepted but no netem qdisc"
  "$CL" up 2 --link 1gbit >/dev/null
else
  grep -q "netem" <<<"$out" || fail "--delay refused without naming netem: $out"
fi

# mpirun from the head node: Open MPI's rsh agent (scripts/cluster-rsh) starts a daemon on each
# node; TCP between them. The same training as 2 ranks on this host, bit for bit.
hostfile=$KD_CLUSTER_DIR/hostfile
"$CL" hostfile >"$hostfile"
args=(pretrain --config "$ROOT/configs/test-tiny.yaml" --set "data.train=[\"$DATA/train/*.h5\"]")
"$CL" exec head env OMPI_MCA_mpi_yield_when_idle=1 mpirun --allow-run-as-root -np 2 \
  --hostfile "$hostfile" --map-by node --bind-to none "$BIN" "${args[@]}" --set "run_dir=$WORK/nodes" \
  >"$WORK/nodes.log" 2>&1 || { cat "$WORK/nodes.log"; fail "mpirun across the nodes failed"; }
grep -q "over 2 ranks on 2 nodes (node1, node2)\|over 2 ranks on 2 nodes (node2, node1)" "$WORK/nodes.log" ||
  { cat "$WORK/nodes.log"; fail "the ranks did not run on node1 and node2"; }
mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to none "$BIN" "${args[@]}" \
  --set "run_dir=$WORK/host" >"$WORK/host.log" 2>&1 || { cat "$WORK/host.log"; fail "host run failed"; }
diff <(losses "$WORK/nodes/metrics.jsonl") <(losses "$WORK/host/metrics.jsonl") ||
  fail "losses across 2 nodes differ from 2 ranks on this host"

# Hierarchical reduction (dist.hierarchical) with 2 ranks on each of the 2 nodes (4 ranks on the
# 2 cores: correctness only): the all-reduce tests pass with two real node leaders, and training
# gives the losses of 4 flat ranks on this host (compared below, after that run).
ring_test=$(dirname "$BIN")/tests/ring_allreduce_mpitest
"$CL" exec head mpirun --allow-run-as-root --oversubscribe -np 4 --hostfile "$hostfile" \
  --map-by node --bind-to none -x OMP_NUM_THREADS=1 "$ring_test" >"$WORK/ring4.log" 2>&1 ||
  { cat "$WORK/ring4.log"; fail "all-reduce tests with 2 ranks per node failed"; }
"$CL" exec head env OMPI_MCA_mpi_yield_when_idle=1 mpirun --allow-run-as-root --oversubscribe \
  -np 4 --hostfile "$hostfile" --map-by node --bind-to none "$BIN" "${args[@]}" \
  --set dist.hierarchical=true --set "run_dir=$WORK/hier" >"$WORK/hier.log" 2>&1 ||
  { cat "$WORK/hier.log"; fail "hierarchical run across 2 nodes failed"; }
grep -q "over 4 ranks on 2 nodes.*hierarchical: this node's 2 ranks reduce to one of 2 leaders" \
  "$WORK/hier.log" || { cat "$WORK/hier.log"; fail "the hierarchical run was not 2 nodes x 2 ranks"; }

# 4 nodes (oversubscribed: 4 ranks on 2 cores, correctness only): 'up 4' replaces the 2-node
# cluster; 4 ranks across the 4 nodes == 4 ranks on this host.
"$CL" up 4 >/dev/null || fail "cluster-local.sh up 4 failed"
"$CL" hostfile >"$hostfile"
"$CL" exec head env OMPI_MCA_mpi_yield_when_idle=1 mpirun --allow-run-as-root -np 4 \
  --hostfile "$hostfile" --map-by node --bind-to none "$BIN" "${args[@]}" --set "run_dir=$WORK/nodes4" \
  >"$WORK/nodes4.log" 2>&1 || { cat "$WORK/nodes4.log"; fail "mpirun across 4 nodes failed"; }
grep -q "over 4 ranks on 4 nodes" "$WORK/nodes4.log" || { cat "$WORK/nodes4.log"; fail "4 ranks not on 4 nodes"; }
OMPI_MCA_mpi_yield_when_idle=1 mpirun --allow-run-as-root --oversubscribe -np 4 --bind-to none "$BIN" \
  "${args[@]}" --set "run_dir=$WORK/host4" >"$WORK/host4.log" 2>&1 || { cat "$WORK/host4.log"; fail "host run (4) failed"; }
diff <(losses "$WORK/nodes4/metrics.jsonl") <(losses "$WORK/host4/metrics.jsonl") ||
  fail "losses across 4 nodes differ from 4 ranks on this host"
/usr/bin/python3 - "$WORK/hier/metrics.jsonl" "$WORK/host4/metrics.jsonl" <<'PY' ||
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(f)] for f in sys.argv[1:3])
assert len(a) == len(b) > 0, (len(a), len(b))
worst = max(abs(x - y) / abs(y) for x, y in zip(a, b))
assert worst < 1e-5, worst  # the same sums in another order
PY
  fail "hierarchical losses (2 nodes x 2 ranks) differ from 4 flat ranks beyond 1e-5"

"$CL" down || fail "cluster-local.sh down failed"
! ls /run/netns 2>/dev/null | grep -q '^kdct-' || fail "namespaces left after down"
for f in "$KD_CLUSTER_DIR"/run/*.pid "$KD_CLUSTER_DIR"/munge/munged.pid; do
  [ -e "$f" ] && fail "pid file $f left after down (daemon still running?)"
done
if [ "$netns_mounted_before" = 0 ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
  ! mountpoint -q /run/netns 2>/dev/null || fail "/run/netns left mounted after down"
fi
pass "cluster-local: up idempotent, isolated, shaped; mpirun on 2 and 4 nodes == as many ranks on this host; hierarchical 2 x 2 == 4 flat; down clean"
