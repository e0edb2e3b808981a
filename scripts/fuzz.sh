#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang++ into build-fuzz/ and fuzzes each one
# for a while over a copy of its seed corpus (docs/fuzzing.md).
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 20 s, every target
# Env: KD_FUZZ_JOBS (build parallelism, default 2), KD_FUZZ_PARALLEL (targets fuzzed at once,
# default: one per core; each libFuzzer process is single-threaded), KD_FUZZ_BUILD (default build-fuzz),
# KD_FUZZ_SEED (libFuzzer's -seed: the same sequence of inputs each run, as far as time allows;
# ctest's fuzz.all sets 1, so that CI's short runs are reproducible; unset, each run explores
# afresh).
# Prints per target the executions, the final corpus size and the crashes; exits 1 on any crash,
# naming the reproducer (re-run it with build-fuzz/<target> <file>), and 77 when clang++ or
# libFuzzer is missing (ctest's fuzz.all then reports SKIPPED, not passed).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-20}"
shift $(($# > 0 ? 1 : 0))
build="${KD_FUZZ_BUILD:-$root/build-fuzz}"
jobs="${KD_FUZZ_JOBS:-2}"
all_targets=(fuzz_wordpiece fuzz_config_yaml fuzz_safetensors fuzz_shard fuzz_lama_jsonl
             fuzz_corpus_readers fuzz_gcide)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

# A missing toolchain is a skip, not a failure: the main build does not need clang.
if ! command -v clang++ > /dev/null || ! command -v clang > /dev/null; then
  echo "fuzz: SKIP: clang++ not installed (Debian: clang, libclang-rt-14-dev)"
  exit 77
fi
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  > "$probe/p.cpp"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2> "$probe/err"; then
  echo "fuzz: SKIP: clang++ cannot link libFuzzer (Debian: libclang-rt-14-dev):"
  head -3 "$probe/err"
  exit 77
fi

generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
t0=$(date +%s)
mkdir -p "$build"
build="$(cd "$build" && pwd)"  # absolute: each target runs inside its own work directory
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root/tests/fuzz" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE= \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ > "$build/cmake.log" 2>&1 ||
    { cat "$build/cmake.log"; echo "fuzz: cmake configure failed"; exit 1; }
fi
cmake --build "$build" -j "$jobs" > "$build/build.log" 2>&1 ||
  { tail -40 "$build/build.log"; echo "fuzz: build failed ($build/build.log)"; exit 1; }
echo "fuzz: build-fuzz built in $(($(date +%s) - t0)) s (-j$jobs)"

parallel="${KD_FUZZ_PARALLEL:-$("$root/scripts/cores")}"
# fuzz_one TARGET: fuzzes one target; its report goes to $build/run/TARGET/report.txt (printed in
# target order at the end, as targets run side by side), its exit status to .../status.
fuzz_one() {
  local t="$1" work="$build/run/$1" rc start took execs files kb line crashes c
  if [ ! -x "$build/$t" ]; then
    # fuzz_safetensors is left out when LibTorch is not found (tests/fuzz/CMakeLists.txt).
    mkdir -p "$work"
    echo "fuzz: $t: not built (see $build/cmake.log)" > "$work/report.txt"
    echo 1 > "$work/status"
    return
  fi
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp "$root/tests/fuzz/corpus/$t/"* "$work/corpus/"
  # The real ShardWriter's output (~20 KB each, so made here rather than kept in the repository).
  [ "$t" = fuzz_shard ] && "$build/make_shard_seeds" "$work/corpus"
  local flags=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
               ${KD_FUZZ_SEED:+-seed=$KD_FUZZ_SEED}
               -artifact_prefix="$work/artifacts/")
  case "$t" in
    fuzz_config_yaml) flags+=(-dict="$root/tests/fuzz/yaml.dict") ;;
    fuzz_safetensors | fuzz_lama_jsonl) flags+=(-dict="$root/tests/fuzz/json.dict") ;;
    # HDF5 mallocs (untouched) a local heap of the size a corrupt header declares, then fails to
    # read it from the small file; -rss_limit_mb still catches memory really used.
    # A 17 GB heap (tests/fuzz/open/fuzz_shard_hdf5_17g_heap.shard) is never touched, but its
    # ASan shadow is 2.1 GB of real memory: hence 4 GB of RSS for this target.
    fuzz_shard) flags+=(-malloc_limit_mb=65536 -rss_limit_mb=4096) ;;
  esac
  echo "fuzz: $t for ${seconds} s ..."
  start=$(date +%s)
  # allocator_may_return_null: a C library's malloc of an impossible size (HDF5 trusting a corrupt
  # header) returns NULL as in production, and the library reports it; in our C++ code operator
  # new still throws std::bad_alloc, which escapes as a finding.
  (cd "$work" && TMPDIR="$work" ASAN_OPTIONS=allocator_may_return_null=1 LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp" \
    "$build/$t" "${flags[@]}" corpus > log.txt 2>&1)
  rc=$?
  took=$(($(date +%s) - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log.txt" | grep -o '[0-9]*$')
  files=$(find "$work/corpus" -type f | wc -l)
  kb=$(($(find "$work/corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}') / 1024))
  mapfile -t crashes < <(find "$work/artifacts" -type f)
  line="$t: ${execs:-?} execs in ${took} s, corpus ${files} files (${kb} KB), crashes ${#crashes[@]}"
  {
    echo "fuzz: $line"
    if [ $rc -ne 0 ] || [ ${#crashes[@]} -gt 0 ]; then
      grep -E 'ERROR|SUMMARY|invariant|terminate|what\(\)' "$work/log.txt" | head -8 | sed 's/^/    /'
      for c in "${crashes[@]}"; do echo "fuzz: $t: reproducer $c (run: ASAN_OPTIONS=allocator_may_return_null=1 LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp $build/$t $c)"; done
      [ ${#crashes[@]} -eq 0 ] && echo "fuzz: $t exited $rc without a reproducer: $work/log.txt"
      echo 1 > "$work/status"
    else
      echo 0 > "$work/status"
    fi
  } > "$work/report.txt"
  echo "$line" > "$work/summary.txt"
}

for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n; done
  fuzz_one "$t" &
done
wait

status=0
summary=()
for t in "${targets[@]}"; do
  cat "$build/run/$t/report.txt"
  [ -f "$build/run/$t/summary.txt" ] && summary+=("$(cat "$build/run/$t/summary.txt")")
  [ "$(cat "$build/run/$t/status" 2> /dev/null)" = 0 ] || status=1
done

echo "fuzz: summary (${seconds} s per target)"
printf '  %s\n' "${summary[@]}"
[ $status -eq 0 ] && echo "fuzz: PASS: no crashes" || echo "fuzz: FAIL"
exit $status
