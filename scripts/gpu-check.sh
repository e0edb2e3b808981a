#!/usr/bin/env bash
# The one prepared device check (issue 18): on a bare GPU host (no network, no package manager,
# a pip torch with its LibTorch and NCCL, transformers, h5py, CMake, ninja, nvcc) it builds
# kdprune against the kit that travels with the tree (.gpukit/kit.tar.gz, made here by
# scripts/make-gpu-kit.sh) and the host's LibTorch, then runs, each part time-boxed and
# independent of the others (a failure is recorded, the next part runs):
#   fixtures        test shards (kdprune-prep) and a tiny teacher (4 CPU steps of test-tiny)
#   parity_kd2hf    a kdprune-written model loaded by transformers' BertForPreTraining: logits
#                   (and the float64 reference's) against kdprune's on the same inputs, fp32
#   parity_hf2kd    a transformers-initialised model (save_pretrained) loaded by kdprune
#   smoke_pretrain, smoke_distill, smoke_schubert   1-GPU runs on the test fixtures
#   nccl_world1     pretrain, distill and schubert with dist.backend nccl in a world of 1
#   throughput      kdprune vs PyTorch eager (bench/pytorch_ddp_pretrain.py), BERT-base, T=128,
#                   bf16 autocast: tokens/s and MFU
#   parity_base     the BERT-base model kdprune just trained, loaded by transformers
#   unit_tests, mpi_tests, cuda_tests   ctest subsets (unit: everything not e2e/mpi/slurm)
# Results: $OUT/gpu-check.json (one entry per part: status, seconds, numbers, error tail),
# $OUT/gpu-check.log, $OUT/logs.tar.gz; a short summary is printed last.
#
#   bash scripts/gpu-check.sh                 (on the GPU host: OUT set by the device tool)
#   KD_GPU_CHECK_MODE=cpu bash scripts/gpu-check.sh     the same without CUDA (self-containment)
# Environment: OUT (default build-gpu-check/out), KD_GPU_WORK (default /tmp/kdprune-gpu-check),
# KD_GPU_BUDGET_S (seconds for everything, default 480), KD_GPU_CHECK_MODE (auto|cuda|cpu),
# KD_GPU_JOBS (build jobs, default nproc), KD_GPU_UNITY (ON: unity build, the default; OFF),
# KD_GPU_BUILD_CAP (seconds for kdprune's build,
# default 390), KD_GPU_PHASE2 (targets built after kdprune for the
# ctest parts, default all), KD_TORCH_PREFIX (LibTorch's CMake prefix; default the python3
# torch's), NCCL_HOME (default: the pip nvidia-nccl package beside torch), KD_GPU_REUSE_BUILD=1
# (keep WORK/build from the last run: for trying this script, not for results).
set -uo pipefail   # no -e: a failing part is recorded and the next one runs
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
OUT="${OUT:-$root/build-gpu-check/out}"
work="${KD_GPU_WORK:-/tmp/kdprune-gpu-check}"
budget="${KD_GPU_BUDGET_S:-480}"
t0=$(date +%s)
if [ "${KD_GPU_REUSE_BUILD:-0}" = 1 ] && [ -d "$work/build" ]; then
  # iterating on this script: keep the build (the kit unpacks with its archived times)
  find "$work" -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
else
  rm -rf "$work"
fi
mkdir -p "$OUT" "$work/logs" "$work/parts"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1
export KD_GPU_WORK="$work" KD_ROOT="$root" KD_T0="$t0" KD_BUDGET="$budget"
echo "gpu-check: start $(date -u +%FT%TZ), budget ${budget}s, work $work, OUT $OUT"

# ---- helpers (exported: each part runs as `bash -c part_NAME` under timeout) -----------------
# put KEY JSON: one result of the current part ($KD_PART), kept even if the part times out.
put() { printf '%s\t%s\n' "$1" "$2" >> "$KD_GPU_WORK/parts/$KD_PART.kv"; }
# jstr TEXT: TEXT as a JSON string.
jstr() { env -u LD_LIBRARY_PATH python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
# py ARGS: the host's python3 (torch, transformers) without the kit's library path.
py() { env -u LD_LIBRARY_PATH PYTHONUNBUFFERED=1 python3 "$@"; }
elapsed() { echo $(( $(date +%s) - KD_T0 )); }
remaining() { echo $(( KD_BUDGET - $(elapsed) )); }
# logof NAME: the log file of NAME in the current part.
logof() { echo "$KD_GPU_WORK/logs/$KD_PART.$1.log"; }
# run_logged NAME CMD...: runs CMD with its output in logs/PART.NAME.log; puts NAME's exit code
# and seconds; on failure prints and puts the log's tail.
run_logged() {
  local name="$1" s rc log
  shift
  log=$(logof "$name")
  s=$(date +%s)
  "$@" > "$log" 2>&1
  rc=$?
  put "$name.exit_code" "$rc"
  put "$name.seconds" "$(( $(date +%s) - s ))"
  if [ "$rc" != 0 ]; then
    echo "  $name: exit $rc; last lines of $(basename "$log"):"
    tail -n 15 "$log" | sed 's/^/    /'
    put "$name.error" "$(jstr "$(tail -n 25 "$log")")"
  else
    echo "  $name: ok ($(( $(date +%s) - s )) s)"
  fi
  return "$rc"
}
# last_loss RUN_DIR: the last logged loss of a run (metrics.jsonl), or null.
last_loss() {
  py -c 'import json,sys
try: print(json.dumps([json.loads(l)["loss"] for l in open(sys.argv[1])][-1]))
except Exception: print("null")' "$1/metrics.jsonl"
}
export -f put jstr py elapsed remaining logof run_logged last_loss

# part NAME CAP_S: runs part_NAME with a time limit of min(CAP_S, what the budget leaves).
part() {
  local name="$1" cap="$2" left lim s rc status
  left=$(( $(remaining) - 10 ))
  if [ "$left" -lt 15 ]; then
    echo "=== $name: skipped (time budget spent)"
    printf '{"part":"%s","status":"skipped","why":"time budget spent"}\n' "$name" >> "$work/results.jsonl"
    return
  fi
  lim=$(( cap < left ? cap : left ))
  echo "=== $name (limit ${lim} s; $(elapsed) s elapsed)"
  s=$(date +%s)
  KD_PART="$name" timeout -k 10 "$lim" bash -c "part_$name"
  rc=$?
  case "$rc" in
    0) status=ok ;;
    124|137) status=timeout; echo "  $name: timed out after ${lim} s" ;;
    77) status=none ;;
    *) status=fail ;;
  esac
  printf '{"part":"%s","status":"%s","exit_code":%d,"seconds":%d,"limit_s":%d}\n' \
    "$name" "$status" "$rc" "$(( $(date +%s) - s ))" "$lim" >> "$work/results.jsonl"
  echo "--- $name: $status ($(( $(date +%s) - s )) s)"
}

# ---- host facts first: versions, GPU, compiler -------------------------------------------------
ver() { command -v "$1" > /dev/null 2>&1 && "$@" 2>&1 | grep -m1 -E '[0-9]+\.[0-9]+' || echo "absent"; }
{
  echo "os: $(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-?}"); kernel $(uname -r); $(uname -m)"
  echo "glibc: $(getconf GNU_LIBC_VERSION 2>/dev/null || ldd --version 2>&1 | head -n 1)"
  echo "nproc: $(nproc); memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "gcc: $(ver gcc --version)"
  echo "g++: $(ver g++ --version)"
  echo "c++: $(ver c++ --version)"
  echo "clang++: $(ver clang++ --version)"
  echo "cmake: $(ver cmake --version) ($(command -v cmake))"
  echo "ninja: $(ver ninja --version)"
  echo "nvcc: $(ver nvcc --version) ($(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null))"
  echo "gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2> /dev/null | head -n 1 || true)"
  echo "python3: $(command -v python3) $(python3 --version 2>&1)"
  echo "pkg-config: $(command -v pkg-config || echo absent); mpirun: $(command -v mpirun || echo absent)"
} | tee "$work/env.txt"
py - > "$work/pyenv.json" 2> "$work/logs/pyenv.log" <<'PY'
import json, os
d = {}
try:
    import torch
    d.update(torch=torch.__version__, torch_cuda=torch.version.cuda,
             cuda_available=torch.cuda.is_available(),
             cmake_prefix_path=torch.utils.cmake_prefix_path,
             torch_cxx11_abi=bool(torch.compiled_with_cxx11_abi()),
             site=os.path.dirname(os.path.dirname(torch.__file__)))
    if torch.cuda.is_available():
        d["device_name"] = torch.cuda.get_device_name(0)
        try:
            d["torch_nccl"] = ".".join(map(str, torch.cuda.nccl.version()))
        except Exception as e:
            d["torch_nccl"] = str(e)
except Exception as e:
    d["torch_error"] = str(e)
for m in ("transformers", "h5py", "safetensors", "numpy"):
    try:
        d[m] = __import__(m).__version__
    except Exception as e:
        d[m] = f"absent ({e.__class__.__name__})"
print(json.dumps(d))
PY
cat "$work/pyenv.json"
pyget() { py -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$work/pyenv.json" "$1"; }

mode="${KD_GPU_CHECK_MODE:-auto}"
if [ "$mode" = auto ]; then
  [ "$(pyget cuda_available)" = True ] && mode=cuda || mode=cpu
fi
export KD_MODE="$mode"
echo "gpu-check: mode $mode"

finish() {  # writes gpu-check.json and logs.tar.gz, prints the summary
  [ -n "${bg_pid:-}" ] && kill -- -"$bg_pid" 2> /dev/null
  tar -C "$work" -czf "$OUT/logs.tar.gz" logs parts env.txt pyenv.json results.jsonl 2> /dev/null
  py "$root/scripts/gpu/results.py" "$work" "$OUT/gpu-check.json" "$mode" "$(elapsed)"
}

cxx="${CXX:-}"
if [ -z "$cxx" ]; then
  for c in g++ c++ clang++; do command -v "$c" > /dev/null && { cxx=$(command -v "$c"); break; }; done
fi
if [ -z "$cxx" ] || ! command -v cmake > /dev/null || ! command -v ninja > /dev/null; then
  msg="no C++ compiler (g++, c++, clang++; or CXX) / cmake / ninja on this host: kdprune cannot be built here (found: CXX='${cxx}', cmake='$(command -v cmake)', ninja='$(command -v ninja)')"
  echo "gpu-check: ERROR: $msg"
  printf '{"part":"build","status":"fail","error":%s}\n' "$(jstr "$msg")" >> "$work/results.jsonl"
  finish
  exit 2
fi
cc="${CC:-}"
[ -z "$cc" ] && for c in gcc cc clang; do command -v "$c" > /dev/null && { cc=$(command -v "$c"); break; }; done
export CXX="$cxx" CC="$cc"

# ---- the kit: unpack, library path (fallback libraries only where the host lacks them) ---------
kit_tar="$root/.gpukit/kit.tar.gz"
mkdir -p "$work/kit"
if ! tar -C "$work/kit" -xzf "$kit_tar"; then
  msg="cannot unpack $kit_tar (run scripts/make-gpu-kit.sh and carry .gpukit)"
  echo "gpu-check: ERROR: $msg"
  printf '{"part":"build","status":"fail","error":%s}\n' "$(jstr "$msg")" >> "$work/results.jsonl"
  finish
  exit 2
fi
KIT="$work/kit/prefix"
la="$KIT/usr/lib/x86_64-linux-gnu"
mkdir -p "$work/fallback"
ldcache=$( (ldconfig -p 2> /dev/null || /sbin/ldconfig -p 2> /dev/null) | awk '{print $1}')
used_fallback=()
for f in "$KIT"/fallback/*; do
  b=$(basename "$f")
  [[ "$b" =~ \.so\.[0-9]+$ || "$b" == libdb-5.3.so ]] || continue   # sonames only
  if [ -n "$ldcache" ]; then
    grep -qx "$b" <<< "$ldcache" && continue
  else
    ls /lib/x86_64-linux-gnu/"$b" /usr/lib/x86_64-linux-gnu/"$b" /lib64/"$b" /usr/lib64/"$b" > /dev/null 2>&1 && continue
  fi
  ln -sf "$f" "$work/fallback/$b"
  used_fallback+=("$b")
done
echo "gpu-check: kit unpacked ($(du -sm "$KIT" | cut -f1) MiB); fallback libraries used (host lacks them): ${used_fallback[*]:-none}"
export PATH="$KIT/usr/bin:$PATH"
export LD_LIBRARY_PATH="$la:$la/openmpi/lib:$la/pmix2/lib:$work/fallback${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH="$la/pkgconfig:$KIT/usr/share/pkgconfig" PKG_CONFIG_LIBDIR="$la/pkgconfig:$KIT/usr/share/pkgconfig"
# Open MPI relocated into the kit (OPAL_PREFIX; PMIx finds its plugins through the component
# path); one host: the "isolated" launcher (no ssh/rsh there, and a singleton MPI_Init starts
# orted through it too), shared memory between ranks (no single-copy: ptrace may be refused).
export OPAL_PREFIX="$KIT/usr" PMIX_PREFIX="$la/pmix2" PMIX_MCA_mca_base_component_path="$la/pmix2/lib/pmix"
export OMPI_MCA_plm=isolated OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1 KIT
# A CMake 4 refuses package files that ask for policies older than 3.5 (the kit's ask for
# ranges, so this is insurance); CMake 3 ignores it.
export CMAKE_POLICY_VERSION_MINIMUM=3.5
printf '{"part":"kit","status":"ok","seconds":0,"fallback_used":%s}\n' \
  "$(jstr "${used_fallback[*]:-}")" >> "$work/results.jsonl"

# ---- configure and build -----------------------------------------------------------------------
build="$work/build"
export KD_BUILD="$build"
jobs="${KD_GPU_JOBS:-$(nproc)}"
torch_prefix="${KD_TORCH_PREFIX:-$(pyget cmake_prefix_path)}"
# A unity build (8 sources per object, as scripts/build.sh): on the 2026-11-29 H200 run each of
# the 113 per-source objects took ~100 s, every one of them parsing LibTorch 2.11's headers, and
# the build did not fit its cap; a unity build parses them once per 8 sources (KD_GPU_UNITY=OFF:
# one object per source).
cmake_args=(-S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKD_BUILD_BENCH=OFF
  -DCMAKE_UNITY_BUILD="${KD_GPU_UNITY:-ON}" -DCMAKE_UNITY_BUILD_BATCH_SIZE=8
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx"
  -DCMAKE_PREFIX_PATH="$KIT/usr${torch_prefix:+;$torch_prefix}"
  -DPKG_CONFIG_EXECUTABLE="$KIT/usr/bin/pkgconf" -DMPIRUN="$KIT/usr/bin/mpirun"
  -DMPI_C_COMPILER="$KIT/usr/bin/mpicc" -DMPI_CXX_COMPILER="$KIT/usr/bin/mpicxx"
  -DMPIEXEC_EXECUTABLE="$KIT/usr/bin/mpirun" -DPython3_EXECUTABLE="$(command -v python3)"
  # the kit's HDF5, found by path: a failing "wrapper" keeps FindHDF5 from a host's h5cc
  -DHDF5_C_COMPILER_EXECUTABLE="$(command -v false)")
if [ "$mode" = cuda ]; then
  export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"   # no GPU probing at configure
  if ! command -v nvcc > /dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH="$PATH:/usr/local/cuda/bin"
  fi
  command -v nvcc > /dev/null && export CUDACXX="$(command -v nvcc)"
  site="$(pyget site)"
  if [ -z "${NCCL_HOME:-}" ]; then
    h=$(find "$site/nvidia" -name nccl.h -path '*include*' 2> /dev/null | head -n 1)
    [ -n "$h" ] && NCCL_HOME="$(dirname "$(dirname "$h")")"
  fi
  nccl_inc="${NCCL_HOME:-}/include"
  nccl_lib=$(ls "${NCCL_HOME:-/nonexistent}"/lib/libnccl.so* 2> /dev/null | head -n 1)
  echo "gpu-check: NCCL_HOME=${NCCL_HOME:-?} (nccl.h: $( [ -f "$nccl_inc/nccl.h" ] && echo yes || echo no), library: ${nccl_lib:-none})"
  export NCCL_HOME
  # Hopper, named: torch's CMake files may enable the CUDA language (no device probe then)
  cmake_args+=(-DKD_NCCL=ON -DNCCL_INCLUDE_DIR="$nccl_inc" -DNCCL_LIBRARY="$nccl_lib"
    -DCMAKE_CUDA_ARCHITECTURES=90)
  # pip torch's libtorch_cuda.so needs cuBLAS, cuDNN, ... from the pip nvidia-* packages, which
  # it finds at run time through its own RUNPATH ($ORIGIN/../../nvidia/...). The linker must
  # find them too when it links an executable: name their folders (-rpath-link), and do not
  # fail on a symbol only those libraries' own dependencies define.
  rpl=$(find "$site/nvidia" "$site/torch/lib" -name 'lib*.so*' -printf '%h\n' 2> /dev/null | sort -u | paste -sd:)
  cmake_args+=(-DCMAKE_EXE_LINKER_FLAGS="${rpl:+-Wl,-rpath-link,$rpl }-Wl,--allow-shlib-undefined")
else
  cmake_args+=(-DKD_NCCL=OFF)
fi

part_build() {
  run_logged ninja_kdprune ninja -C "$KD_BUILD" -j "$KD_JOBS" kdprune kdprune-prep bert_logits
}
export KD_JOBS="$jobs"
# Arrays do not cross `bash -c`: pass the configure arguments through a file.
printf '%s\0' "${cmake_args[@]}" > "$work/cmake_args"
part_configure() { mapfile -d '' KD_CMAKE_ARGS < "$KD_GPU_WORK/cmake_args"; run_logged cmake cmake "${KD_CMAKE_ARGS[@]}"; }
export -f part_configure part_build
part configure 150
grep -E "kdprune:|Torch|CUDA|NCCL|MPI|HDF5" "$work/logs/configure.cmake.log" | grep -v "^--   " | head -n 20 | sed 's/^/  /'
built=no
if [ -f "$build/build.ninja" ]; then
  part build "${KD_GPU_BUILD_CAP:-390}"
  [ -x "$build/kdprune" ] && [ -x "$build/tests/e2e/bert_logits" ] && built=yes
fi
export KD_BIN="$build/kdprune" KD_PREP="$build/kdprune-prep" KD_LOGITS="$build/tests/e2e/bert_logits"
# The test binaries build in the background (lower priority) while the GPU parts run; it is
# paused during the throughput timing and waited for before ctest.
bg_pid=""
if [ "$built" = yes ]; then
  setsid nice -n 15 ninja -C "$build" -j "$jobs" ${KD_GPU_PHASE2:-all} > "$work/logs/ninja_phase2.log" 2>&1 &
  bg_pid=$!
fi
need_build() { [ -x "$KD_BIN" ] || { echo "  kdprune was not built: see the configure/build parts"; exit 3; }; }
export -f need_build

# ---- fixtures: test shards + a tiny teacher (CPU) ----------------------------------------------
part_fixtures() {
  need_build
  run_logged shards bash tests/e2e/make_test_shards.sh "$KD_PREP" "$KD_GPU_WORK/data" || exit 1
  run_logged teacher "$KD_BIN" pretrain --config configs/test-tiny.yaml \
    --set "data.train=[\"$KD_GPU_WORK/data/train/*.h5\"]" --set train.steps=4 \
    --set run_dir="$KD_GPU_WORK/runs/teacher" || exit 1
  ln -sfn "$KD_GPU_WORK/runs/teacher/checkpoints/step_00000004/model" "$KD_GPU_WORK/teacher"
}

# ---- parity with Hugging Face transformers -----------------------------------------------------
# compare_pair NAME A B: max |A-B| per tensor (tolerance 1e-4) into the part's results.
compare_pair() {
  local j
  j=$(py scripts/gpu/hf_parity.py compare "$2" "$3" --tol 1e-4)
  local rc=$?
  echo "  $1: $j"
  put "$1" "${j:-null}"
  return $rc
}
# parity_dir DIR: kdprune (cpu, and cuda in cuda mode), transformers and the float64 reference
# on the same inputs, compared pairwise.
parity_dir() {
  local dir="$1" w="$KD_GPU_WORK/parity/$KD_PART" ok=0 v
  mkdir -p "$w"
  v=$(wc -l < "$dir/vocab.txt")
  py scripts/gpu/hf_parity.py inputs --out "$w/in.safetensors" --vocab-size "$v" || exit 1
  run_logged kdprune_cpu "$KD_LOGITS" --model "$dir" --inputs "$w/in.safetensors" --out "$w/kd_cpu.safetensors" || ok=1
  if [ "$KD_MODE" = cuda ]; then
    run_logged kdprune_cuda "$KD_LOGITS" --model "$dir" --inputs "$w/in.safetensors" --out "$w/kd_cuda.safetensors" --device cuda || ok=1
  fi
  run_logged reference py scripts/gpu/hf_parity.py ref --model "$dir" --inputs "$w/in.safetensors" --out "$w/ref.safetensors" || ok=1
  if run_logged transformers py scripts/gpu/hf_parity.py hf --model "$dir" --inputs "$w/in.safetensors" --out "$w/hf.safetensors"; then
    put hf_load "$(tail -n 1 "$(logof transformers)")"
    compare_pair kdprune_cpu_vs_transformers "$w/kd_cpu.safetensors" "$w/hf.safetensors" || ok=1
    [ "$KD_MODE" = cuda ] && { compare_pair kdprune_cuda_vs_transformers "$w/kd_cuda.safetensors" "$w/hf.safetensors" || ok=1; }
    compare_pair transformers_vs_reference "$w/hf.safetensors" "$w/ref.safetensors" || ok=1
  else
    ok=1
  fi
  compare_pair kdprune_cpu_vs_reference "$w/kd_cpu.safetensors" "$w/ref.safetensors" || ok=1
  return $ok
}
part_parity_kd2hf() {  # (a) a kdprune-written uniform model directory (the tiny teacher)
  need_build
  py -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$KD_GPU_WORK/teacher/config.json" > /dev/null || exit 1
  put model "$(jstr "$(readlink -f "$KD_GPU_WORK/teacher")")"
  parity_dir "$KD_GPU_WORK/teacher"
}
part_parity_hf2kd() {  # (b) transformers-initialised, save_pretrained (safetensors)
  need_build
  run_logged make_hf py scripts/gpu/hf_parity.py make-hf --out "$KD_GPU_WORK/hf_model" \
    --vocab data/vocab/bert-base-uncased-vocab.txt || exit 1
  put made "$(tail -n 1 "$(logof make_hf)")"
  parity_dir "$KD_GPU_WORK/hf_model"
}
part_parity_base() {  # the BERT-base model kdprune trained in the throughput part
  need_build
  [ -f "$KD_GPU_WORK/runs/tput-kdprune/model/config.json" ] || { echo "  no BERT-base model (throughput part)"; exit 1; }
  parity_dir "$KD_GPU_WORK/runs/tput-kdprune/model"
}

# ---- 1-GPU smoke runs and NCCL in a world of 1 -------------------------------------------------
# smoke_training NAME COMMAND ARGS...: one logged run in runs/NAME; puts its last loss.
smoke_training() {
  local name="$1"; shift
  run_logged "$name" "$KD_BIN" "$@" --set run_dir="$KD_GPU_WORK/runs/$name"
  local rc=$?
  put "$name.last_loss" "$(last_loss "$KD_GPU_WORK/runs/$name")"
  return $rc
}
smoke_pretrain() {  # smoke_pretrain NAME [--set ...]
  local name="$1"; shift
  smoke_training "$name" pretrain --config configs/test-tiny.yaml \
    --set "data.train=[\"$KD_GPU_WORK/data/train/*.h5\"]" --set device="$KD_MODE" \
    --set train.steps=6 --set train.checkpoint_every=3 "$@"
}
smoke_distill() {
  local name="$1"; shift
  smoke_training "$name" distill --config configs/test-distill.yaml \
    --set teacher.dir="$KD_GPU_WORK/teacher" --set "data.train=[\"$KD_GPU_WORK/data/train/*.h5\"]" \
    --set "data.heldout=[\"$KD_GPU_WORK/data/heldout/*.h5\"]" --set device="$KD_MODE" \
    --set train.steps=4 "$@"
}
smoke_schubert() {
  local name="$1"; shift
  run_logged "$name" "$KD_BIN" schubert --config configs/schubert-quickstart.yaml \
    --set model.dir="$KD_GPU_WORK/teacher" --set "data.train=[\"$KD_GPU_WORK/data/train/*.h5\"]" \
    --set "data.heldout=[\"$KD_GPU_WORK/data/heldout/*.h5\"]" --set device="$KD_MODE" \
    --set data.batch_size=4 --set data.eval_batches=2 --set schubert.target_fraction=0.9 \
    --set schubert.rounds=1 --set schubert.regularise.steps=2 --set train.steps=3 \
    --set train.schedule.warmup_steps=1 --set train.checkpoint_every=0 \
    --set run_dir="$KD_GPU_WORK/runs/$name" "$@"
  local rc=$?
  [ -f "$KD_GPU_WORK/runs/$name/summary.json" ] && put "$name.summary" "$(cat "$KD_GPU_WORK/runs/$name/summary.json" | tr -d '\n')"
  return $rc
}
part_smoke_pretrain() {
  need_build
  local ok=0
  smoke_pretrain smoke_pretrain || ok=1
  smoke_pretrain smoke_pretrain_bf16 --set train.precision=bf16 || ok=1
  return $ok
}
part_smoke_distill() { need_build; smoke_distill smoke_distill; }
part_smoke_schubert() { need_build; smoke_schubert smoke_schubert; }
part_nccl_world1() {
  need_build
  [ "$KD_MODE" = cuda ] || { echo "  no CUDA: NCCL not built"; exit 77; }
  local ok=0
  smoke_pretrain nccl_pretrain --set dist.backend=nccl || ok=1
  # world 1: the NCCL all-reduce is the identity, so the losses equal the local backend's
  put nccl_pretrain.same_losses_as_local "$(py -c 'import json,sys
a=[json.loads(l)["loss"] for l in open(sys.argv[1])]; b=[json.loads(l)["loss"] for l in open(sys.argv[2])]
print(json.dumps(a == b))' "$KD_GPU_WORK/runs/nccl_pretrain/metrics.jsonl" "$KD_GPU_WORK/runs/smoke_pretrain/metrics.jsonl" 2> /dev/null || echo null)"
  smoke_distill nccl_distill --set dist.backend=nccl || ok=1
  smoke_schubert nccl_schubert --set dist.backend=nccl || ok=1
  return $ok
}

# ---- throughput: kdprune vs PyTorch eager, BERT-base, T=128, bf16 -------------------------------
part_throughput() {
  local w="$KD_GPU_WORK/tput" ok=0
  mkdir -p "$w"
  # cuda: BERT-base at batch 256 (10 warm-up + 30 timed steps); cpu: the quickstart model, tiny.
  local dims B W S
  if [ "$KD_MODE" = cuda ]; then
    dims="768 12 12 3072"; B="${KD_TPUT_BATCH:-256}"; W=10; S=30
  else
    dims="256 4 4 1024"; B=8; W=2; S=4
  fi
  read -r H L A F <<< "$dims"
  put config "{\"hidden\":$H,\"layers\":$L,\"heads\":$A,\"intermediate\":$F,\"vocab\":30522,\"seq\":128,\"max_pred\":20,\"batch\":$B,\"warmup_steps\":$W,\"timed_steps\":$S,\"precision\":\"bf16\",\"device\":\"$KD_MODE\"}"
  run_logged shards py bench/make_synthetic_shards.py --out "$w/shards" --shards 2 \
    --rows $(( (W + S) * B / 2 + B )) --max-seq 128 --max-pred 20 || exit 1
  if [ -x "$KD_BIN" ]; then
    # each side has its own limit, so a slow kdprune still leaves PyTorch its run
    run_logged kdprune timeout 85 "$KD_BIN" pretrain --config configs/quickstart.yaml \
      --set "data.train=[\"$w/shards/*.hdf5\"]" --set device="$KD_MODE" --set threads=2 \
      --set model.hidden_size=$H --set model.num_layers=$L --set model.num_heads=$A \
      --set model.intermediate_size=$F --set model.max_position_embeddings=512 \
      --set data.batch_size=$B --set train.steps=$((W + S)) --set train.log_every=$W \
      --set train.precision=bf16 --set train.checkpoint_every=0 --set train.clip_norm=0 \
      --set train.schedule.warmup_steps=2 --set resume=never \
      --set run_dir="$KD_GPU_WORK/runs/tput-kdprune" || ok=1
  else
    put kdprune.error '"not built"'; ok=1
  fi
  run_logged pytorch timeout 55 env -u LD_LIBRARY_PATH PYTHONUNBUFFERED=1 python3 \
    bench/pytorch_ddp_pretrain.py --device "$KD_MODE" --nproc 1 --threads 2 \
    --bind none --data "$w/shards/*.hdf5" --vocab-size 30522 --hidden $H --layers $L --heads $A \
    --intermediate $F --max-seq 512 --batch-size $B --steps $S --warmup-steps $W \
    --precision bf16 || ok=1
  tail -n 1 "$(logof pytorch)" > "$w/pytorch.json"
  local j
  j=$(py scripts/gpu/throughput.py --kdprune "$KD_GPU_WORK/runs/tput-kdprune/metrics.jsonl" \
      --pytorch "$w/pytorch.json" --shards "$w/shards/*.hdf5" --hidden $H --layers $L \
      --intermediate $F --device "$KD_MODE") || ok=1
  echo "  $j"
  put result "${j:-null}"
  return $ok
}

# ---- ctest subsets -----------------------------------------------------------------------------
# ctest_subset NAME CTEST_ARGS...: runs them, counts from the JUnit file.
ctest_subset() {
  local name="$1"; shift
  (cd "$KD_BUILD" && run_logged "$name" ctest --output-on-failure --timeout 120 \
     --output-junit "$KD_GPU_WORK/$name.xml" "$@")
  local rc=$?
  local j
  j=$(py scripts/gpu/results.py --junit "$KD_GPU_WORK/$name.xml" "$(logof "$name")")
  echo "  $name: $j"
  put counts "${j:-null}"
  return $rc
}
part_unit_tests() { ctest_subset unit -LE 'e2e|mpi|slurm' -j "$KD_JOBS"; }
part_mpi_tests() { ctest_subset mpi -L mpi -j $(( KD_JOBS / 2 > 0 ? KD_JOBS / 2 : 1 )); }
part_cuda_tests() {
  local n
  n=$(cd "$KD_BUILD" && ctest -N -L cuda | awk '/Total Tests:/ {print $3}')
  put labelled "${n:-0}"
  [ "${n:-0}" -gt 0 ] || { echo "  no tests labelled cuda"; exit 77; }
  ctest_subset cuda -L cuda -j 1
}
export -f compare_pair parity_dir part_parity_kd2hf part_parity_hf2kd part_parity_base \
  smoke_training smoke_pretrain smoke_distill smoke_schubert part_smoke_pretrain part_smoke_distill \
  part_smoke_schubert part_nccl_world1 part_throughput ctest_subset part_unit_tests \
  part_mpi_tests part_cuda_tests part_fixtures

# ---- the order: most valuable first ------------------------------------------------------------
part fixtures 60
part parity_kd2hf 60
part parity_hf2kd 60
part smoke_pretrain 60
part smoke_distill 45
part smoke_schubert 60
part nccl_world1 90
# Throughput on a quiet machine: wait a little for the background build, then pause it.
if [ -n "$bg_pid" ]; then
  for _ in $(seq 1 45); do kill -0 "$bg_pid" 2> /dev/null || break; sleep 1; done
  kill -STOP -- -"$bg_pid" 2> /dev/null && echo "gpu-check: background build paused for the timing"
fi
part throughput 150
[ -n "$bg_pid" ] && kill -CONT -- -"$bg_pid" 2> /dev/null
part parity_base 45
if [ -n "$bg_pid" ]; then
  echo "gpu-check: waiting for the test binaries (background build)"
  while kill -0 "$bg_pid" 2> /dev/null && [ "$(remaining)" -gt 40 ]; do sleep 2; done
  if kill -0 "$bg_pid" 2> /dev/null; then
    kill -- -"$bg_pid" 2> /dev/null
    echo "gpu-check: background build stopped (time budget)"
  fi
  wait "$bg_pid" 2> /dev/null
  phase2_rc=$?
  bg_pid=""
  printf '{"part":"build_tests","status":"%s","exit_code":%d}\n' \
    "$([ "$phase2_rc" = 0 ] && echo ok || echo fail)" "$phase2_rc" >> "$work/results.jsonl"
  [ "$phase2_rc" = 0 ] || tail -n 15 "$work/logs/ninja_phase2.log" | sed 's/^/  /'
fi
part unit_tests 120
part cuda_tests 60
part mpi_tests 60
finish
