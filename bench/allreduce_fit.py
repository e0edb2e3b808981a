#!/usr/bin/python3
"""Fits the ring all-reduce model T(S) = 2(p-1)*alpha + 2(p-1)/p * S/B to the raw MPI_Allreduce
times of bench/mpi_allreduce_sweep_bench (Google Benchmark JSON, one file per link setting),
prints a table per link (measured raw, reducer cost = Reducer - Backward, the fit) and draws the
measurements and fits, log-log, into a PNG.
  allreduce_fit.py --ranks P --png OUT.png LABEL=FILE.json [LABEL=FILE.json ...]"""
import argparse
import json

import numpy as np


def load(path):
    rows = {}
    for b in json.load(open(path))["benchmarks"]:
        name, size = b["name"].split("/")[:2]
        scale = {"us": 1e-6, "ms": 1e-3, "ns": 1e-9, "s": 1.0}[b["time_unit"]]
        rows.setdefault(name, {})[int(size)] = b["real_time"] * scale
    return rows


def fit(sizes, times, p):
    # T = a * 2(p-1) + (2(p-1)/p) * S * (1/B): least squares in (alpha, 1/B), weighted by 1/T
    # so that small and large messages count alike.
    x = np.column_stack([np.full(len(sizes), 2 * (p - 1)), 2 * (p - 1) / p * np.array(sizes)])
    w = 1 / np.array(times)
    t = np.array(times)
    (alpha, inv_b), *_ = np.linalg.lstsq(x * w[:, None], t * w, rcond=None)
    if alpha < 0:  # a latency cannot be negative (a token bucket's burst can make it look so)
        alpha = 0.0
        inv_b = float(np.sum(x[:, 1] * t * w * w) / np.sum((x[:, 1] * w) ** 2))
    return alpha, 1 / inv_b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--png")
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    p = a.ranks
    curves = []
    for run in a.runs:
        label, path = run.split("=", 1)
        r = load(path)
        sizes = sorted(r["Raw"])
        raw = [r["Raw"][s] for s in sizes]
        alpha, bw = fit(sizes, raw, p)
        model = [2 * (p - 1) * alpha + 2 * (p - 1) / p * s / bw for s in sizes]
        print(f"\n{label}: alpha = {alpha * 1e6:.1f} us, B = {bw / 1e6:.0f} MB/s "
              f"(T = 2(p-1)a + 2(p-1)/p S/B, p = {p})")
        print("| size | raw MPI_Allreduce | fit | kdprune reducer (Reducer - Backward) | reducer / raw |")
        print("|---|---|---|---|---|")
        for s, t, m in zip(sizes, raw, model):
            red = r["Reducer"][s] - r["Backward"][s]
            size = f"{s >> 20} MB" if s >= 1 << 20 else f"{s >> 10} KB"
            print(f"| {size} | {t * 1e3:.3f} ms | {m * 1e3:.3f} ms | {red * 1e3:.3f} ms | {red / t:.2f} |")
        curves.append((label, sizes, raw, model, [r["Reducer"][s] - r["Backward"][s] for s in sizes]))
    if a.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, (label, sizes, raw, model, red) in enumerate(curves):
            c = f"C{i}"
            ax.loglog(sizes, raw, "o", color=c, label=f"{label}: raw MPI_Allreduce")
            ax.loglog(sizes, [max(x, 1e-6) for x in red], "x", color=c, label=f"{label}: kdprune reducer")
            ax.loglog(sizes, model, "-", color=c, alpha=0.6, label=f"{label}: ring-model fit")
        ax.set_xlabel("message size (bytes)")
        ax.set_ylabel("time (s)")
        ax.set_title(f"All-reduce across {p} emulated nodes (1 rank per node, TCP)")
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(a.png, dpi=110)
        print(f"\nplot: {a.png}")


if __name__ == "__main__":
    main()
