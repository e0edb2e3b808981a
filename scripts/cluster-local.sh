#!/usr/bin/env bash
# A multi-node cluster on this machine: N "nodes" that are network namespaces with their own
# hostnames, joined by shaped virtual links, running a real multi-node Slurm (slurmctld on a
# head node, one slurmd per node) and reachable by mpirun through an rsh-style launcher.
#
#   scripts/cluster-local.sh up [N] [--link RATE] [--delay D]   (idempotent; N defaults to 2)
#   scripts/cluster-local.sh down                  remove everything `up` made
#   scripts/cluster-local.sh status                namespaces, daemons, sinfo; 0 only when all up
#   scripts/cluster-local.sh exec HOST [--] CMD... run CMD on HOST (head, node1 .. nodeN)
#   scripts/cluster-local.sh env                   print the exports Slurm clients need
#   scripts/cluster-local.sh hostfile              print an Open MPI hostfile of the nodes
#
# Examples:
#   scripts/cluster-local.sh up 2 --link 1gbit
#   scripts/cluster-local.sh exec head sbatch -N 2 --ntasks-per-node=1 slurm/pretrain.sbatch ...
#   scripts/cluster-local.sh hostfile > hosts.txt
#   scripts/cluster-local.sh exec head mpirun --hostfile hosts.txt --bind-to none ...
#     (mpirun inside `exec head` starts its daemons on the nodes through scripts/cluster-rsh:
#     OMPI_MCA_plm_rsh_agent is set there; TCP is the only transport between nodes. Ranks of
#     different nodes share the real cores: --bind-to none, and OMPI_MCA_mpi_yield_when_idle=1
#     beyond 2 ranks)
#
# Network: a switch namespace holds a bridge; each host (head, node1..N) is a namespace whose
# eth0 is a veth created inside the switch namespace and moved straight into the host's, so
# nothing is created in the machine's own namespace: the addresses ($KD_CLUSTER_NET.0/24) exist
# only inside these namespaces, and nothing routes to them from outside. --link RATE shapes
# both directions of every node's link with a token bucket (tc tbf, e.g. 10gbit, 1gbit,
# 100mbit). --delay needs netem, which this machine's kernel lacks: it is refused with a clear
# message there (the veth path gives 17-35 us; shared/notes/multinode.md).
#
# Running "on" a host = its network namespace (nsenter --net, which keeps /sys and the cgroup
# mounts that slurmd needs) + a private UTS and mount namespace with the host's name and an
# /etc/hosts that names every host.
#
# Environment:
#   KD_CLUSTER_DIR     state directory (default /var/tmp/kdprune-cluster): slurm.conf, munge,
#                      per-node spool/log/tmp, hosts, cluster.env
#   KD_CLUSTER_PREFIX  namespace name prefix (default kdc): kdc-sw, kdc-head, kdc-node1, ...
#   KD_CLUSTER_NET     first three octets of the private /24 (default 10.213.7)
#   KD_CLUSTER_TIMEOUT seconds to wait for every node to become idle (default 60)
set -euo pipefail

DIR=${KD_CLUSTER_DIR:-/var/tmp/kdprune-cluster}
PFX=${KD_CLUSTER_PREFIX:-kdc}
NET=${KD_CLUSTER_NET:-10.213.7}
TIMEOUT=${KD_CLUSTER_TIMEOUT:-60}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF=$DIR/slurm.conf
MUNGE_DIR=$DIR/munge
MUNGE_SOCKET=$MUNGE_DIR/munge.socket
SW=$PFX-sw
export PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=scripts/slurm-conf-common.sh
source "$ROOT/scripts/slurm-conf-common.sh"

die() {
  echo "cluster-local: error: $*" >&2
  exit 1
}
say() { echo "cluster-local: $*"; }

ns_exists() { [ -e "/run/netns/$1" ]; }
head_addr() { echo "$NET.1"; }
node_addr() { echo "$NET.$((10 + $1))"; }
# The node count of the running cluster (0 when down).
current_nodes() { [ -s "$DIR/cluster.env" ] && sed -n 's/^KD_CLUSTER_NODES=//p' "$DIR/cluster.env" || echo 0; }
current_link() { [ -s "$DIR/cluster.env" ] && sed -n 's/^KD_CLUSTER_LINK=//p' "$DIR/cluster.env" || true; }

# on HOST CMD...: run CMD in HOST's namespaces (see the header).
on() {
  local host=$1
  shift
  ns_exists "$PFX-$host" || die "no host '$host' (is the cluster up? hosts: head node1..node$(current_nodes))"
  nsenter --net="/run/netns/$PFX-$host" unshare --uts --mount --propagation private -- \
    bash -c 'hostname "$1" && mount --bind "$2" /etc/hosts && shift 2 && exec "$@"' \
    _ "$host" "$DIR/hosts" "$@"
}

need_tools() {
  local missing=() t
  for t in ip tc nsenter unshare munged slurmctld slurmd sinfo scontrol sbatch srun; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  [ ${#missing[@]} -eq 0 ] ||
    die "missing ${missing[*]}; install Debian's iproute2, util-linux, slurm-wlm and munge (scripts/install-deps.sh --all)"
  [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, slurmd)"
}

# ---- network ------------------------------------------------------------------------------
shape() { # shape NS DEV RATE: token bucket on DEV's egress (replace = idempotent)
  if [ -n "$3" ]; then
    tc -n "$1" qdisc replace dev "$2" root tbf rate "$3" burst 256kb latency 50ms ||
      die "tc could not shape $2 in $1 to '$3' (a tc rate such as 10gbit, 1gbit, 100mbit)"
  else
    tc -n "$1" qdisc del dev "$2" root 2>/dev/null || true
  fi
}

add_host() { # add_host NAME ADDR
  local ns=$PFX-$1
  ns_exists "$ns" || ip netns add "$ns"
  ip -n "$ns" link set lo up
  if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
    ip -n "$SW" link add "v-$1" type veth peer name eth0 netns "$ns"
  fi
  ip -n "$SW" link set "v-$1" master br0 up
  ip -n "$ns" addr replace "$2/24" dev eth0
  ip -n "$ns" link set eth0 up
}

net_up() { # net_up N RATE
  local n=$1 rate=$2 k
  ns_exists "$SW" || ip netns add "$SW"
  ip -n "$SW" link set lo up
  ip -n "$SW" link show br0 >/dev/null 2>&1 || ip -n "$SW" link add br0 type bridge
  ip -n "$SW" link set br0 up
  add_host head "$(head_addr)"
  for k in $(seq 1 "$n"); do
    add_host "node$k" "$(node_addr "$k")"
    # Both directions of the node's link: its own eth0 (out) and its switch port (in).
    shape "$PFX-node$k" eth0 "$rate"
    shape "$SW" "v-node$k" "$rate"
  done
  {
    echo "127.0.0.1 localhost"
    echo "$(head_addr) head"
    for k in $(seq 1 "$n"); do echo "$(node_addr "$k") node$k"; done
  } >"$DIR/hosts"
}

net_down() {
  local ns
  for ns in /run/netns/"$PFX"-*; do
    [ -e "$ns" ] || continue
    ip netns del "${ns##*/}" 2>/dev/null || true
  done
  # `ip netns add` mounts /run/netns; leave no mount behind once no namespace is left.
  if [ -z "$(ls -A /run/netns 2>/dev/null)" ] && mountpoint -q /run/netns 2>/dev/null; then
    umount /run/netns 2>/dev/null || true
  fi
}

# ---- Slurm --------------------------------------------------------------------------------
write_conf() { # write_conf N
  local n=$1 hw k
  hw=$(slurmd -C 2>/dev/null | grep '^NodeName=' | sed 's/ UpTime=.*//; s/^NodeName=[^ ]* //') || true
  [ -n "$hw" ] || die "'slurmd -C' printed no NodeName line; cannot size the nodes"
  mkdir -p "$DIR/state" "$DIR/log" "$DIR/run"
  for k in $(seq 1 "$n"); do mkdir -p "$DIR/spool/node$k" "$DIR/tmp/node$k"; done
  {
    cat <<EOF
# Generated by scripts/cluster-local.sh for $n node(s); rewritten by 'up' while the daemons are down.
ClusterName=kdprune-cluster
SlurmctldHost=head($(head_addr))
SlurmctldPort=6817
SlurmdPort=6818
# Per-node paths (%n = node name): the nodes share one file system.
SlurmdSpoolDir=$DIR/spool/%n
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmdLogFile=$DIR/log/slurmd-%n.log
# A per-node TmpFS, else both nodes' step daemons make the same PMIx directory.
TmpFS=$DIR/tmp/%n
$(slurm_conf_common "$MUNGE_SOCKET" "$DIR")
EOF
    for k in $(seq 1 "$n"); do echo "NodeName=node$k NodeAddr=$(node_addr "$k") $hw State=UNKNOWN"; done
    echo "PartitionName=debug Nodes=node[1-$n] Default=YES MaxTime=INFINITE State=UP"
  } >"$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
  write_cgroup_conf "$DIR"
}

start_munge() {
  # One munged in the machine's own namespace: its socket is a file, reachable from every node.
  start_munged "$MUNGE_DIR" || die "munged failed to start (log: $MUNGE_DIR/munged.log)"
}

show_logs() {
  local f
  for f in "$DIR"/log/*.log "$MUNGE_DIR/munged.log"; do
    [ -f "$f" ] || continue
    echo "----- last 20 lines of $f -----" >&2
    tail -n 20 "$f" >&2
  done
}

slurm_up() { # slurm_up N
  local n=$1 k
  start_munge
  export SLURM_CONF=$CONF
  if [ -z "$(live_pid "$DIR/run/slurmctld.pid")" ]; then
    on head slurmctld -f "$CONF" -i || { show_logs; die "slurmctld failed to start on head"; }
  fi
  for k in $(seq 1 "$n"); do
    if [ -z "$(live_pid "$DIR/run/slurmd-node$k.pid")" ]; then
      on "node$k" slurmd -f "$CONF" -N "node$k" || { show_logs; die "slurmd failed to start on node$k"; }
    fi
  done
  local deadline=$((SECONDS + TIMEOUT)) idle=0 resumed=0
  while [ $SECONDS -lt $deadline ]; do
    idle=$(on head sinfo -h -N -o '%N %T' 2>/dev/null | grep -cE ' (idle|mixed|allocated|completing)$' || true)
    [ "$idle" -ge "$n" ] && break
    if [ $resumed -eq 0 ] && on head sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(down|drain)'; then
      on head scontrol update NodeName="node[1-$n]" State=RESUME >/dev/null 2>&1 || true
      resumed=1
    fi
    sleep 1
  done
  if [ "$idle" -lt "$n" ]; then
    show_logs
    on head sinfo -N -l >&2 2>&1 || true
    die "only $idle of $n nodes became idle within ${TIMEOUT}s (logs above; all in $DIR/log)"
  fi
}

slurm_down() {
  local f
  if [ -n "$(live_pid "$DIR/run/slurmctld.pid")" ] && ns_exists "$PFX-head"; then
    local jobs
    jobs=$(SLURM_CONF=$CONF on head squeue -h -o %i 2>/dev/null | tr '\n' ' ' || true)
    if [ -n "${jobs// /}" ]; then
      say "cancelling jobs $jobs"
      # shellcheck disable=SC2086 # a list of job ids
      SLURM_CONF=$CONF on head scancel $jobs 2>/dev/null || true
      sleep 2
    fi
  fi
  for f in "$DIR"/run/slurmd-*.pid; do
    [ -e "$f" ] || continue
    f=${f##*/}
    stop_pidfile "${f%.pid}" "$DIR/run/$f"
  done
  stop_pidfile slurmctld "$DIR/run/slurmctld.pid"
  stop_pidfile munged "$MUNGE_DIR/munged.pid"
}

# ---- commands -----------------------------------------------------------------------------
cmd_up() {
  local n=2 rate="" delay=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --link) rate=${2:?--link needs a rate such as 10gbit or 1gbit}; shift 2 ;;
      --delay) delay=${2:?--delay needs a time such as 20us}; shift 2 ;;
      [0-9]*) n=$1; shift ;;
      *) die "unknown argument '$1' (usage: up [N] [--link RATE] [--delay D])" ;;
    esac
  done
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "N must be 1..99 nodes (got '$n')"
  need_tools
  if [ -n "$delay" ]; then
    ip netns add "$PFX-probe" 2>/dev/null || true
    if ! tc -n "$PFX-probe" qdisc add dev lo root netem delay "$delay" 2>/dev/null; then
      ip netns del "$PFX-probe" 2>/dev/null || true
      die "--delay needs the kernel's netem queueing discipline, which this kernel lacks" \
        "(tc: 'Specified qdisc kind is unknown'); the links keep the veth latency (17-35 us)"
    fi
    ip netns del "$PFX-probe" 2>/dev/null || true
  fi
  local have
  have=$(current_nodes)
  if [ "$have" != 0 ] && [ "$have" != "$n" ]; then
    say "cluster has $have node(s), $n asked for: taking it down first"
    cmd_down
  fi
  mkdir -p "$DIR"
  net_up "$n" "$rate"
  if [ -n "$delay" ]; then
    local k
    for k in $(seq 1 "$n"); do
      tc -n "$PFX-node$k" qdisc replace dev eth0 root netem delay "$delay" ${rate:+rate "$rate"}
    done
  fi
  [ -z "$(live_pid "$DIR/run/slurmctld.pid")" ] && write_conf "$n"
  printf 'KD_CLUSTER_NODES=%s\nKD_CLUSTER_LINK=%s\n' "$n" "${rate:-unshaped}" >"$DIR/cluster.env"
  slurm_up "$n"
  say "up: head + $n node(s) on $NET.0/24, links ${rate:-unshaped}; Slurm: $CONF"
  say "run on a node: $0 exec head|node1..node$n CMD (Slurm clients: exec head sbatch ...)"
}

cmd_down() {
  slurm_down
  net_down
  rm -f "$DIR/cluster.env"
  say "down: namespaces $PFX-* and daemons removed (state kept in $DIR)"
}

cmd_status() {
  local n ok=0 k
  n=$(current_nodes)
  [ "$n" != 0 ] || { echo "cluster: down"; return 1; }
  echo "cluster: head + $n node(s), links $(current_link), state $DIR"
  for k in head $(seq -f 'node%g' 1 "$n"); do
    if ns_exists "$PFX-$k"; then echo "  $k: namespace $PFX-$k"; else
      echo "  $k: namespace missing"
      ok=1
    fi
  done
  [ -n "$(live_pid "$MUNGE_DIR/munged.pid")" ] || { echo "  munged: not running"; ok=1; }
  [ -n "$(live_pid "$DIR/run/slurmctld.pid")" ] || { echo "  slurmctld: not running"; ok=1; }
  for k in $(seq 1 "$n"); do
    [ -n "$(live_pid "$DIR/run/slurmd-node$k.pid")" ] || { echo "  slurmd node$k: not running"; ok=1; }
  done
  [ $ok -eq 0 ] && SLURM_CONF=$CONF on head sinfo -N -l
  return $ok
}

cmd_exec() {
  local host=${1:?usage: exec HOST [--] CMD...}
  shift
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "exec: no command given"
  # The environment Slurm clients and mpirun need on this cluster: always this cluster's
  # slurm.conf (a SLURM_CONF of another Slurm would point the clients elsewhere); the caller's
  # Open MPI settings win over these defaults.
  export SLURM_CONF=$CONF
  export OMPI_MCA_plm_rsh_agent=${OMPI_MCA_plm_rsh_agent:-$ROOT/scripts/cluster-rsh}
  export OMPI_MCA_btl=${OMPI_MCA_btl:-tcp,self,vader}
  export OMPI_MCA_btl_tcp_if_include=${OMPI_MCA_btl_tcp_if_include:-$NET.0/24}
  export OMPI_MCA_oob_tcp_if_include=${OMPI_MCA_oob_tcp_if_include:-$NET.0/24}
  # Open MPI 5 (Debian 13) launches through PRRTE, which reads its own names for the two.
  export PRTE_MCA_plm_ssh_agent=${PRTE_MCA_plm_ssh_agent:-$OMPI_MCA_plm_rsh_agent}
  export PRTE_MCA_oob_tcp_if_include=${PRTE_MCA_oob_tcp_if_include:-$OMPI_MCA_oob_tcp_if_include}
  export KD_CLUSTER_DIR=$DIR KD_CLUSTER_PREFIX=$PFX KD_CLUSTER_NET=$NET
  on "$host" "$@"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  exec) shift; cmd_exec "$@" ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  hostfile)
    [ "$(current_nodes)" != 0 ] || die "the cluster is down (scripts/cluster-local.sh up N)"
    slots=$("$ROOT/scripts/cores")
    for k in $(seq 1 "$(current_nodes)"); do echo "node$k slots=$slots"; done ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
