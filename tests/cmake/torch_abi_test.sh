#!/usr/bin/env bash
# CMake refuses a LibTorch whose C++ ABI differs from the system's (cmake/torch_abi.cmake):
# the old-ABI flags fail with the message naming both ABIs; the system's own ABI passes.
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)/torch_abi"
work="$1"
rm -rf "$work"; mkdir -p "$work"
if cmake -S "$src" -B "$work/old" -DTORCH_CXX_FLAGS=-D_GLIBCXX_USE_CXX11_ABI=0 > "$work/old.log" 2>&1; then
  cat "$work/old.log"; echo "FAIL: an old-ABI LibTorch was accepted"; exit 1
fi
grep -q "_GLIBCXX_USE_CXX11_ABI=0, but this" "$work/old.log" || { cat "$work/old.log"; echo "FAIL: no clear message"; exit 1; }
cmake -S "$src" -B "$work/new" -DTORCH_CXX_FLAGS=-D_GLIBCXX_USE_CXX11_ABI=1 > "$work/new.log" 2>&1 ||
  { cat "$work/new.log"; echo "FAIL: a new-ABI LibTorch was refused"; exit 1; }
cmake -S "$src" -B "$work/none" > "$work/none.log" 2>&1 || { cat "$work/none.log"; echo "FAIL: no flags refused"; exit 1; }
echo "PASS: old ABI refused, new ABI and no ABI flag accepted"
