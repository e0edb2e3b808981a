#!/usr/bin/env bash
# Builds kdprune (installing what is missing) and runs every test: unit tests, 2-rank MPI
# tests, end-to-end CLI tests (resume, failure handling) and the single-node Slurm test.
#   scripts/test.sh                 all tests
#   scripts/test.sh -L mpi          only tests with a ctest label (mpi, e2e, slurm)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${KD_BUILD_DIR:-$root/build}"
bash "$root/scripts/build.sh"
cd "$build"
# One job per core: unit tests run side by side, the rest alone (RUN_SERIAL, tests/CMakeLists.txt).
ctest --output-on-failure --timeout 900 -j "${KD_TEST_JOBS:-$("$root/scripts/cores")}" "$@"
