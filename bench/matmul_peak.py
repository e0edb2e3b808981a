#!/usr/bin/python3
"""Single-thread torch.mm throughput (GFLOP/s) for fp32 and bf16 at a few square sizes.

Gives the compute ceiling that the pre-training throughput numbers are read against: kdprune
measures the same thing inside C++ (LibTorch), so both stacks can be checked to hit the same
GEMM path (OpenBLAS for fp32, oneDNN for bf16 on CPUs with AVX512-BF16) before their
end-to-end numbers are compared.

Run with Debian's interpreter (the pyenv python3 on PATH has no torch):
    /usr/bin/python3 bench/matmul_peak.py [--sizes 512 1024 2048] [--repeats 5] [--core 0]
Prints one JSON line.
"""
import argparse
import json
import os
import statistics
import sys
import time

try:
    import torch
except ImportError:  # the pyenv python3 on PATH
    sys.exit("matmul_peak.py: cannot import torch; run it with /usr/bin/python3 "
             "(Debian's python3-torch), not the pyenv python3 on PATH")

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def time_mm(n, dtype, repeats, min_time_s):
    """Median seconds per n×n×n torch.mm over `repeats` timed runs.

    Each run loops enough multiplications to last about `min_time_s`, so that the timer's
    resolution and Python's call overhead do not dominate the small sizes.
    """
    gen = torch.Generator().manual_seed(n)
    a = torch.randn(n, n, generator=gen).to(dtype)
    b = torch.randn(n, n, generator=gen).to(dtype)
    c = torch.empty(n, n, dtype=dtype)
    torch.mm(a, b, out=c)  # warm-up: first call initialises BLAS / oneDNN kernels
    t0 = time.perf_counter()
    torch.mm(a, b, out=c)
    one = max(time.perf_counter() - t0, 1e-6)
    inner = max(1, int(min_time_s / one))
    per_call = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b, out=c)
        per_call.append((time.perf_counter() - t0) / inner)
    return statistics.median(per_call), inner, per_call


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    ap.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"], choices=sorted(DTYPES))
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per size (median taken)")
    ap.add_argument("--min-time", type=float, default=0.2,
                    help="seconds each timed run lasts at least (inner loop length)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--core", type=int, default=None,
                    help="pin the process to this CPU core (os.sched_setaffinity)")
    args = ap.parse_args()

    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
    torch.set_num_threads(args.threads)

    results = []
    for name in args.dtypes:
        for n in args.sizes:
            t, inner, runs = time_mm(n, DTYPES[name], args.repeats, args.min_time)
            results.append({
                "dtype": name,
                "n": n,
                "gflops": round(2.0 * n ** 3 / t / 1e9, 2),
                "time_s_median": t,
                "gflops_runs": [round(2.0 * n ** 3 / r / 1e9, 2) for r in runs],
                "calls_per_run": inner,
            })
            print(f"# mm {name} n={n}: {results[-1]['gflops']} GFLOP/s", file=sys.stderr)
    print(json.dumps({
        "impl": "pytorch-mm",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "core": args.core,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "results": results,
    }))


if __name__ == "__main__":
    main()
