# Sourced by scripts/slurm-local.sh and scripts/cluster-local.sh: the slurm.conf lines both local
# Slurms share, and the cgroup.conf that Slurm 23+ needs here.
#   slurm_conf_common MUNGE_SOCKET DIR   prints the lines (DIR: state, plugstack.conf)
#   write_cgroup_conf DIR                writes or removes DIR/cgroup.conf for the installed slurmd
#   start_munged MUNGE_DIR               a munged with its key, socket and log in MUNGE_DIR (kept
#                                        running when its pid file names a live process); 1 on failure
#   live_pid PIDFILE                     the pid in PIDFILE if that process is alive, else nothing
#   stop_pidfile NAME PIDFILE            SIGTERM, SIGKILL after 15 s, pid file removed (uses `say`)

slurm_conf_common() {
  cat <<EOF2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job may start again only after the old credential expires
# (default 120 s); a local cluster needs no such margin.
AuthInfo=socket=$1,cred_expire=10
StateSaveLocation=$2/state
SlurmctldPidFile=$2/run/slurmctld.pid
SlurmctldLogFile=$2/log/slurmctld.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$2/plugstack.conf
# No cgroups: containers rarely allow them. Processes are tracked through /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Re-evaluate pending (e.g. requeued) jobs every few seconds rather than every minute.
SchedulerParameters=sched_interval=2,bf_interval=2
# srun --mpi=pmix is requested explicitly by slurm/*.sbatch; plain srun stays MPI-agnostic.
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
SlurmdTimeout=300
InactiveLimit=0
KillWait=30
# Keep finished jobs visible to 'scontrol show job' for an hour (no accounting database here).
MinJobAge=3600
EOF2
  # An empty plugstack: /etc/slurm/plugstack.conf.d may hold SPANK plugins of a system install.
  : >"$2/plugstack.conf"
}

# Slurm 23+ (Debian 13's 24.11) loads its cgroup plugin in slurmd even with proctrack/linuxproc
# and fails where no cgroup file system is mounted unless told CgroupPlugin=disabled, a value
# 22.05 (Debian 12) refuses: so the file exists only for 23+.
write_cgroup_conf() {
  local major
  major=$(slurmd -V 2>/dev/null | sed -n 's/^slurm[^ ]* \([0-9]*\)\..*/\1/p')
  if [ -n "$major" ] && [ "$major" -ge 23 ]; then
    echo "CgroupPlugin=disabled" >"$1/cgroup.conf"
  else
    rm -f "$1/cgroup.conf"
  fi
}

start_munged() {
  local d=$1
  [ -z "$(live_pid "$d/munged.pid")" ] || return 0
  mkdir -p "$d"
  # munged refuses a socket directory writable by others; 755 lets non-root users authenticate.
  chmod 755 "$d"
  if [ ! -s "$d/munge.key" ]; then
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile="$d/munge.key" --force
    else
      dd if=/dev/urandom of="$d/munge.key" bs=1024 count=1 status=none
    fi
    chmod 400 "$d/munge.key"
  fi
  rm -f "$d/munge.socket" "$d/munge.socket.lock"
  # --force: munged otherwise refuses to run as root.
  munged --force --socket="$d/munge.socket" --key-file="$d/munge.key" --log-file="$d/munged.log" \
    --pid-file="$d/munged.pid" --seed-file="$d/munged.seed"
}

live_pid() {
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

stop_pidfile() {
  local name=$1 f=$2 pid
  pid=$(live_pid "$f")
  [ -n "$pid" ] || { rm -f "$f"; return 0; }  # a stale pid file goes too
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name (pid $pid) ignored SIGTERM for 15s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
  say "stopped $name (pid $pid)"
}
