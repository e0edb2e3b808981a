#!/usr/bin/env bash
# Builds kdprune's tests with sanitizers and runs them (issue 16).
#   scripts/sanitize.sh [ctest args]          AddressSanitizer + UndefinedBehaviorSanitizer into
#                                             build-asan/: every unit and MPI test (default:
#                                             every test except e2e, Slurm, cluster, fuzz, prep)
#   KD_SANITIZE=thread scripts/sanitize.sh    ThreadSanitizer into build-tsan/: the tests of the
#                                             code that runs threads of its own (the loader's
#                                             prefetch thread, the reducer's communication thread,
#                                             the watchdog, the worker pools)
# Both builds are unity builds at -O1 -g1 (assertions on): on two cores this is about four times
# faster to build than one object per source at -O2 -g, with the same checks.
# LibTorch, Open MPI, HDF5 and OpenMP are not instrumented. ASan intercepts their allocations;
# their own leaks at exit are not reported (detect_leaks=0), and UBSan's vptr check is off (their
# RTTI is not instrumented). TSan cannot see their synchronisation, so what happens inside them
# is suppressed (scripts/tsan.supp); one intra-op thread keeps LibTorch's own pool out of it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${KD_SANITIZE:-address}"
case "$mode" in
  address)
    build="${KD_ASAN_BUILD:-$root/build-asan}"
    flags="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined"
    pattern='kd_test_[a-z]*\|[a-z_]*_mpitest'
    ;;
  thread)
    build="${KD_TSAN_BUILD:-$root/build-tsan}"
    flags="-fsanitize=thread"
    pattern='kd_test_data\|kd_test_dist\|kd_test_common\|grad_reducer_mpitest\|communicator_mpitest'
    ;;
  *)
    echo "sanitize: KD_SANITIZE=$mode: use address or thread" >&2
    exit 2
    ;;
esac
start=$(date +%s)
mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 \
  -DKD_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer" \
  -DCMAKE_C_FLAGS="$flags -fno-omit-frame-pointer" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
  > "$build/cmake.log" 2>&1 || { cat "$build/cmake.log"; exit 1; }
targets=$(ninja -C "$build" -t targets all | sed -n "s/^\\($pattern\\): .*/\\1/p" | sort -u)
ninja -C "$build" -j "${KD_BUILD_JOBS:-$("$root/scripts/cores")}" $targets
echo "sanitize ($mode): built in $(( $(date +%s) - start )) s"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan.supp"
export OMP_NUM_THREADS=1
cd "$build"
if [ $# -eq 0 ]; then
  if [ "$mode" = thread ]; then
    set -- -R 'PretrainLoader|SlotLoader|ChunkCodec|InFlightWatch|WatchdogChecks|WorkerThreads|mpi\.(grad_reducer|communicator)'
  else
    set -- -LE 'e2e|slurm|cluster|fuzz|prep'
  fi
fi
# One job per core, as scripts/test.sh: the MPI tests run alone (RUN_SERIAL). scripts/cores, as
# nproc would say 1 under the OMP_NUM_THREADS=1 exported above.
ctest --output-on-failure --timeout 900 -j "${KD_TEST_JOBS:-$("$root/scripts/cores")}" "$@"
