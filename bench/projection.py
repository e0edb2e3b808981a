#!/usr/bin/python3
"""Step time and weak-scaling efficiency of data-parallel BERT pre-training at 8-512 GPUs, from
the ring all-reduce model fitted on this machine's emulated nodes and published fabric figures;
first checked against the measured 2-node points. Every input is in INPUTS below, with its source.
  bench/projection.py [--png docs/img/projection.png]
Model: step = compute + all-reduce of the fp32 gradients (kdprune's reducer runs synchronously in
backward's hooks, so nothing overlaps; the "overlapped" column is the bound if backward (2/3 of
compute) hid the all-reduce entirely). Ring all-reduce over p ranks: 2(p-1)a + 2(p-1)/p S/B.
Flat: one ring over all GPUs, its bandwidth the slowest hop (NVLink inside one node, the NIC
across nodes). Hierarchical: reduce-scatter and all-gather inside each node over NVLink, and
between nodes g parallel rings (one per GPU and NIC) over S/g each."""
import argparse

INPUTS = {
    # Measured here (README "Across nodes"): bench/allreduce_nodes.sh fits, bench/scaling_nodes.sh
    # steps of the quickstart model (44.7 MB of fp32 gradients), 1-node step from the same block.
    "measured": [
        # (label, alpha s, B bytes/s, gradient bytes, 1-node step s, measured 2-node step s)
        ("quickstart pretrain, unshaped veth", 11.3e-6, 1012e6, 44.7e6, 0.427, 0.492),
        ("quickstart pretrain, tbf 1 Gbit/s", 0.0, 117e6, 44.7e6, 0.526, 0.977),
    ],
    # Compute: BERT-base bf16, T=128, PyTorch eager on one H200, measured by scripts/gpu-check.sh
    # (docs/gpu-runs/2026-11-29-{1,2}.json: 342,923 and 347,925 tokens/s). BERT-large: scaled by
    # its training FLOPs per token (6 N: 335M vs 110M parameters), an assumption.
    "models": {
        "BERT-base": {"params": 110e6, "tokens_per_s": 345e3},
        "BERT-large": {"params": 335e6, "tokens_per_s": 345e3 * 110 / 335},
    },
    "tokens_per_gpu_step": 64 * 128,  # 64 sequences of 128 tokens per GPU (phase-1 BERT)
    "bytes_per_param": 4,  # fp32 gradients, as kdprune reduces them
    "gpus_per_node": 8,
    # Published fabric figures (the issue's): NVLink ~370 GB/s effective inside a node,
    # InfiniBand NDR ~46-48 GB/s per NIC, one NIC per GPU. Latencies: assumed.
    "nvlink": {"B": 370e9, "alpha": 3e-6},
    "ib": {"B": 47e9, "alpha": 5e-6},
    "gpu_counts": [8, 16, 64, 128, 512],
}


def ring(p, size, alpha, bw):
    return 0.0 if p <= 1 else 2 * (p - 1) * alpha + 2 * (p - 1) / p * size / bw


def allreduce(gpus, size, hierarchical, inp):
    g = min(gpus, inp["gpus_per_node"])
    nodes = gpus // g
    nv, ib = inp["nvlink"], inp["ib"]
    if nodes == 1:
        return ring(gpus, size, nv["alpha"], nv["B"])
    if not hierarchical:
        return ring(gpus, size, ib["alpha"], ib["B"])
    inside = ring(g, size, nv["alpha"], nv["B"])  # reduce-scatter + all-gather
    return inside + ring(nodes, size / g, ib["alpha"], ib["B"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--png")
    a = ap.parse_args()
    inp = INPUTS
    print("Check against the measured 2-node points (1 rank per node):")
    print("| case | 1-node step | all-reduce (model) | predicted 2-node step | measured | error |")
    print("|---|---|---|---|---|---|")
    for label, alpha, bw, size, one, two in inp["measured"]:
        t = ring(2, size, alpha, bw)
        pred = one + t
        print(f"| {label} | {one*1e3:.0f} ms | {t*1e3:.0f} ms | {pred*1e3:.0f} ms | "
              f"{two*1e3:.0f} ms | {(pred-two)/two*100:+.1f}% |")
    print("\nProjection (step = compute + all-reduce; efficiency = compute / step):")
    print("| model | GPUs | compute | all-reduce flat | all-reduce hierarchical | efficiency flat | "
          "efficiency hierarchical | hierarchical, overlapped with backward |")
    print("|---|---|---|---|---|---|---|---|")
    curves = {}
    for name, m in inp["models"].items():
        size = m["params"] * inp["bytes_per_param"]
        compute = inp["tokens_per_gpu_step"] / m["tokens_per_s"]
        for gpus in inp["gpu_counts"]:
            flat = allreduce(gpus, size, False, inp)
            hier = allreduce(gpus, size, True, inp)
            over = compute / (compute / 3 + max(2 * compute / 3, hier))
            row = (compute / (compute + flat), compute / (compute + hier), over)
            curves.setdefault(name, []).append((gpus,) + row)
            print(f"| {name} | {gpus} | {compute*1e3:.1f} ms | {flat*1e3:.1f} ms | {hier*1e3:.1f} ms | "
                  f"{row[0]:.2f} | {row[1]:.2f} | {row[2]:.2f} |")
    if a.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for i, (name, rows) in enumerate(curves.items()):
            g = [r[0] for r in rows]
            ax.semilogx(g, [r[1] for r in rows], "o--", color=f"C{i}", label=f"{name}, flat ring")
            ax.semilogx(g, [r[2] for r in rows], "o-", color=f"C{i}", label=f"{name}, hierarchical")
            ax.semilogx(g, [r[3] for r in rows], "x:", color=f"C{i}",
                        label=f"{name}, hierarchical, overlapped")
        ax.set_xlabel("GPUs (8 per node)")
        ax.set_ylabel("weak-scaling efficiency")
        ax.set_ylim(0, 1.05)
        ax.set_title("Projected data-parallel efficiency (fp32 gradients, H200 compute, NDR IB)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(a.png, dpi=110)
        print(f"\nplot: {a.png}")


if __name__ == "__main__":
    main()
