#!/usr/bin/env bash
# Builds kdprune against LibTorch 2.x and runs its tests there (issue 18): Debian 13 (trixie)
# packages LibTorch 2.6 (libtorch-dev), g++ 14, Open MPI 5, HDF5 1.14 and Slurm 24.11, so a trixie
# chroot made with debootstrap from Debian's archive checks the newer stack without leaving
# Debian's packages. Then a checkpoint crosses versions both ways: one written by this machine's
# build (LibTorch 1.13) is resumed under 2.6, and one written under 2.6 is resumed by 1.13.
#   scripts/check-libtorch2.sh          build + unit and MPI tests + cross-version resume
#   scripts/check-libtorch2.sh --all    also the end-to-end, Slurm and emulated-cluster tests (Slurm
#                                       and the network namespaces in the chroot)
#   scripts/check-libtorch2.sh -- ARGS  build, then ctest ARGS in the chroot (nothing else)
# Needs root (debootstrap, chroot, mounts) and debootstrap (scripts/install-deps.sh has it).
# Cache: $KD_TRIXIE_ROOT (default /var/cache/kdprune-trixie), outside the repository: the chroot
# (made once, ~2.5 GB; packages added when the list below changes) and its build folder /build
# (incremental). Mounts live in a private mount namespace, so nothing stays mounted afterwards.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
chroot_dir="${KD_TRIXIE_ROOT:-/var/cache/kdprune-trixie}"
mirror="${KD_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mode=default
ctest_args=()
case "${1:-}" in
  "") ;;
  --all) mode=all ;;
  --) mode=ctest; shift; ctest_args=("$@") ;;
  *) echo "check-libtorch2: unknown argument '$1' (use --all, or -- followed by ctest arguments)" >&2
     exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "check-libtorch2: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
command -v debootstrap > /dev/null ||
  { echo "check-libtorch2: debootstrap not found (apt-get install debootstrap)" >&2; exit 1; }

# What the build and the tests need, by trixie's package names (scripts/install-deps.sh has the
# bookworm list and the reasons). python3-torch is the same LibTorch 2.6: the model tests compare
# against tests/model/reference_bert.py run by it.
packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-openmp
  libopenmpi-dev openmpi-bin libhdf5-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libutf8proc-dev libbz2-dev libexpat1-dev zlib1g-dev libdeflate-dev
  python3 python3-torch python3-numpy python3-h5py
)
# --all: the embedded corpus, Slurm, and matplotlib for the campaign's timeline PNG.
[ "$mode" = all ] && packages+=(wordnet-base dict-gcide slurm-wlm munge libpmix-dev
                                python3-matplotlib)

start=$(date +%s)
step() { echo "check-libtorch2: [$(( $(date +%s) - start )) s] $*"; }

if [ ! -x "$chroot_dir/usr/bin/apt-get" ] || [ ! -f "$chroot_dir/.kdprune-debootstrap-done" ]; then
  step "debootstrap trixie into $chroot_dir (once; a few minutes)"
  rm -rf "$chroot_dir"
  mkdir -p "$chroot_dir"
  debootstrap --variant=minbase trixie "$chroot_dir" "$mirror" > "$chroot_dir.debootstrap.log" 2>&1 ||
    { tail -n 30 "$chroot_dir.debootstrap.log"; echo "check-libtorch2: debootstrap failed" \
        "(log: $chroot_dir.debootstrap.log)" >&2; exit 1; }
  cat > "$chroot_dir/etc/apt/sources.list" <<EOF
deb $mirror trixie main
deb $mirror trixie-updates main
deb http://deb.debian.org/debian-security trixie-security main
EOF
  touch "$chroot_dir/.kdprune-debootstrap-done"
fi

# Runs a command in the chroot, with /proc, /dev, /dev/shm (Open MPI's shared memory), /sys
# (hwloc) and the source tree (read-only at /src, so a test that writes into the tree fails).
in_chroot() {
  unshare --mount --propagation private -- bash -s -- "$chroot_dir" "$root" "$@" <<'EOS'
set -euo pipefail
dir="$1"; src="$2"; shift 2
mkdir -p "$dir/src" "$dir/build"
# The chroot's root as a mount point of its own: `ip netns` (scripts/cluster-local.sh, the
# cluster tests) makes / a slave mount, which fails on a plain directory.
mount --bind "$dir" "$dir"
# A fresh /run, as after a boot: a network namespace's file in /run/netns outlives the mount
# namespace that held it and would break the next `ip netns add` of that name.
mount -t tmpfs -o size=64m tmpfs "$dir/run"
mkdir -p "$dir/run/lock"
mount -t proc proc "$dir/proc"
mount --rbind /dev "$dir/dev"
mount -t tmpfs -o size=4g tmpfs "$dir/dev/shm"
mount --rbind /sys "$dir/sys"
mount --bind "$src" "$dir/src"
mount -o remount,bind,ro "$dir/src"
cp /etc/resolv.conf "$dir/etc/resolv.conf"
exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb \
  chroot "$dir" "$@"
EOS
}

wanted="${packages[*]}"
if [ "$(cat "$chroot_dir/.kdprune-packages" 2>/dev/null)" != "$wanted" ]; then
  step "apt-get install in the chroot: ${packages[*]}"
  in_chroot bash -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends $wanted > /var/log/kdprune-apt.log 2>&1 ||
    { tail -n 30 /var/log/kdprune-apt.log; exit 1; }"
  echo "$wanted" > "$chroot_dir/.kdprune-packages"
fi
versions=$(in_chroot dpkg-query -W -f='${Package}=${Version} ' libtorch-dev g++ libopenmpi-dev \
  libhdf5-dev cmake)
step "chroot has $versions"

# Release, as scripts/build.sh, but a unity build (8 sources per unit): a compatibility check
# needs every source compiled, not the fastest incremental rebuild.
step "configure + build in the chroot (/build)"
in_chroot bash -c "cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 > /build/cmake.log 2>&1 ||
    { cat /build/cmake.log; exit 1; }
  ninja -C /build -k 0 -j $(nproc)"
step "built"

run_ctest() {
  in_chroot bash -c 'cd /build && OMP_NUM_THREADS=1 ctest --output-on-failure --timeout 900 \
    -j "$(/src/scripts/cores)" "$@"' ctest "$@"
}
case "$mode" in
  ctest) run_ctest "${ctest_args[@]}"; step "done"; exit 0 ;;
  default) run_ctest -LE 'e2e|slurm|cluster|fuzz|prep|cuda' ;;
  all) run_ctest -LE 'fuzz|cuda' ;;
esac
step "tests passed"

# Cross-version resume: 1 rank, configs/test-tiny.yaml on the e2e test shards, 8 steps under one
# LibTorch, 8 more under the other. The checkpoint format is kdprune's own (safetensors + JSON),
# so nothing in it depends on the LibTorch version; this shows it.
host_build="${KD_BUILD_DIR:-$root/build}"
if [ ! -x "$host_build/kdprune" ] || [ ! -x "$host_build/kdprune-prep" ]; then
  echo "check-libtorch2: no host build in $host_build (scripts/build.sh makes one), so the" \
       "cross-version resume is not checked" >&2
  exit 1
fi
work="$chroot_dir/xver"
rm -rf "$work"; mkdir -p "$work"
bash "$root/tests/e2e/make_test_shards.sh" "$host_build/kdprune-prep" "$work/data" > "$work/shards.log"
tiny=(--config configs/test-tiny.yaml --set 'data.train=["/xver/data/train/*.h5"]'
      --set train.steps=16 --set train.checkpoint_every=0 --set train.log_every=1)
# run_pair WHERE_FIRST WHERE_SECOND NAME: steps 1-8 (stop_after_step=8) with the first build,
# 9-16 with the second; the chroot sees $work as /xver, the host as $work.
host_run() { (cd "$root" && OMP_NUM_THREADS=1 "$host_build/kdprune" pretrain "${tiny[@]/\/xver/$work}" "$@"); }
chroot_run() {
  in_chroot bash -c 'cd /src && OMP_NUM_THREADS=1 /build/kdprune pretrain "$@"' kdprune "${tiny[@]}" "$@"
}
losses() { python3 -c '
import json,sys
for l in open(sys.argv[1]):
    j=json.loads(l); print(j["step"], repr(j["loss"]))' "$1"; }
resume_across() {
  local first="$1" second="$2" name="$3" code
  set +e
  "$first" --set run_dir="$([ "$first" = host_run ] && echo "$work" || echo /xver)/$name" \
    --set debug.stop_after_step=8 > "$work/$name-part1.log" 2>&1
  code=$?
  set -e
  [ "$code" = 85 ] || { cat "$work/$name-part1.log"; echo "check-libtorch2: $name: first half exited $code, expected 85" >&2; exit 1; }
  "$second" --set run_dir="$([ "$second" = host_run ] && echo "$work" || echo /xver)/$name" \
    > "$work/$name-part2.log" 2>&1 ||
    { cat "$work/$name-part2.log"; echo "check-libtorch2: $name: resume failed" >&2; exit 1; }
  grep -q "resumed from" "$work/$name-part2.log" ||
    { echo "check-libtorch2: $name: the second half did not resume" >&2; exit 1; }
  losses "$work/$name/metrics.jsonl" > "$work/$name.losses"
}
step "cross-version resume: 1.13 -> 2.6 and 2.6 -> 1.13"
resume_across host_run chroot_run lt113-to-26
resume_across chroot_run host_run lt26-to-113
chroot_run --set run_dir=/xver/straight-26 > "$work/straight-26.log" 2>&1 ||
  { cat "$work/straight-26.log"; exit 1; }
host_run --set run_dir="$work/straight-113" > "$work/straight-113.log" 2>&1 ||
  { cat "$work/straight-113.log"; exit 1; }
losses "$work/straight-26/metrics.jsonl" > "$work/straight-26.losses"
losses "$work/straight-113/metrics.jsonl" > "$work/straight-113.losses"
# Each resumed run against the uninterrupted run of the LibTorch that finished it: steps 9-16
# start from the other version's weights and optimiser state, so they may differ only by the two
# versions' rounding (the same seed draws the same dropout masks when both agree on steps 1-8).
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
def load(n): return {int(a): float(b) for a, b in (l.split() for l in open(f"{w}/{n}.losses"))}
s113, s26 = load("straight-113"), load("straight-26")
first = max(abs(s113[k] - s26[k]) / abs(s26[k]) for k in range(1, 9))
print(f"check-libtorch2: steps 1-8, 1.13 vs 2.6 uninterrupted: max relative loss difference {first:.2e}")
for name, ref in (("lt113-to-26", s26), ("lt26-to-113", s113)):
    r = load(name)
    assert sorted(r) == list(range(1, 17)), f"{name}: steps {sorted(r)}"
    d = max(abs(r[k] - ref[k]) / abs(ref[k]) for k in range(9, 17))
    print(f"check-libtorch2: {name}: steps 9-16 vs the uninterrupted run, max relative loss difference {d:.2e}")
    assert d < 1e-5, f"{name}: resumed losses differ from the uninterrupted run by {d:.2e} (limit 1e-5)"
PY
step "done: LibTorch 2.6 build, tests and cross-version resume passed"
