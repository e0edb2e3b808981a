#!/usr/bin/env bash
# Installs everything kdprune needs from Debian's archive. Idempotent and non-interactive:
# re-running it installs only what is missing. Run as root (or through sudo).
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --all    also Slurm/munge (integration test), python3-torch (bench peer),
#                                    wordnet-base + dict-gcide (embedded default corpus)
set -euo pipefail

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
  wordnet-base dict-gcide            # the embedded default corpus and probes
  slurm-wlm munge libpmix-dev        # a real single-node Slurm for the integration test
  python3-torch python3-numpy python3-h5py   # the PyTorch DDP peer in bench/ and reference checks
  python3-matplotlib                 # pictures in the README (specialisation matrix, layer dims)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
