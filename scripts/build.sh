#!/usr/bin/env bash
# Configures and builds kdprune into build/ (Release). Installs missing Debian packages first.
#   scripts/build.sh [extra cmake args]      e.g. -DKD_BUILD_BENCH=OFF
# A unity build (8 sources per compilation unit; KD_UNITY_BUILD=OFF for one object per source):
# LibTorch's headers dominate every unit's compile time, so a clean build on 2 cores takes
# 705 s against 934 s, measured a day apart (README, Build). One object per source rebuilds faster
# after a one-file edit.
# A GPU host with a pip torch builds against its LibTorch:
#   scripts/build.sh -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${KD_BUILD_DIR:-$root/build}"
bash "$root/scripts/install-deps.sh"
jobs="${KD_BUILD_JOBS:-$("$root/scripts/cores")}"
start=$(date +%s)
mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_UNITY_BUILD="${KD_UNITY_BUILD:-ON}" -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 "$@" > "$build/cmake.log" 2>&1 ||
  { cat "$build/cmake.log"; exit 1; }
ninja -C "$build" -j "$jobs"
echo "build: done in $(( $(date +%s) - start )) s ($build)"
