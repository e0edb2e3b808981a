#!/usr/bin/env python3
"""kdprune vs PyTorch eager throughput and MFU for scripts/gpu-check.sh (one JSON line out).

kdprune: run_dir/metrics.jsonl of `kdprune pretrain` logged every W steps; the first window is
the warm-up, the rate is the harmonic mean of the other windows' tokens/s (equal tokens per
window), as bench/bench_common.sh does. PyTorch: bench/pytorch_ddp_pretrain.py's JSON line.
Both count tokens as batch x seq per step (padding included).

Model FLOPs per sequence, training = 3 x forward (backward = 2 x forward), matmuls only:
  L x [2T(4H^2 + 2HF) + 4T^2 H]   encoder (projections, FFN, QK^T and PV)
  + 2P(H^2 + HV)                  MLM head on the P masked positions (mean over the shards)
  + 2(H^2 + 2H)                   pooler + NSP
MFU = tokens/s x FLOPs per token / peak: the H200's dense bf16 spec 989 TFLOP/s and the 790
TFLOP/s an 8192^3 bf16 matmul measured on these machines (.library/device/KINDS.md).
"""
import argparse
import glob
import json
import sys

PEAKS = {"h200_bf16_dense_spec": 989e12, "h200_bf16_matmul_measured": 790e12}


def kdprune_rate(path):
    rows = [json.loads(line) for line in open(path)]
    w = [r["tokens_per_s"] for r in rows][1:]
    if not w:
        raise ValueError(f"{path}: fewer than two logged windows")
    return len(w) / sum(1 / x for x in w), len(rows)


def mean_predictions(pattern):
    import h5py
    import numpy as np
    n = tot = 0
    seq = None
    for p in sorted(glob.glob(pattern)):
        with h5py.File(p, "r") as f:
            pos = f["masked_lm_positions"][:]
            seq = f["input_ids"].shape[1]
            tot += int((pos != 0).sum())
            n += pos.shape[0]
    return tot / max(n, 1), seq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kdprune", required=True)
    ap.add_argument("--pytorch", required=True)
    ap.add_argument("--shards", required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--intermediate", type=int, required=True)
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args()
    H, L, F, V = a.hidden, a.layers, a.intermediate, a.vocab
    out, ok = {}, True
    try:
        P, T = mean_predictions(a.shards)
        fwd = L * (2 * T * (4 * H * H + 2 * H * F) + 4 * T * T * H) + 2 * P * (H * H + H * V) + \
            2 * (H * H + 2 * H)
        per_token = 3 * fwd / T
        out.update(seq=T, mean_predictions=round(P, 2), train_flops_per_token=round(per_token))
    except Exception as e:  # noqa: BLE001
        per_token, ok = None, False
        out["flops_error"] = str(e)
    for name, get in (("kdprune", lambda: kdprune_rate(a.kdprune)[0]),
                      ("pytorch", lambda: json.loads(open(a.pytorch).read())["tokens_per_s"])):
        try:
            tps = float(get())
            out[f"{name}_tokens_per_s"] = round(tps, 1)
            if per_token and a.device == "cuda":
                for k, peak in PEAKS.items():
                    out[f"{name}_mfu_vs_{k}"] = round(tps * per_token / peak, 4)
                out[f"{name}_tflops"] = round(tps * per_token / 1e12, 1)
        except Exception as e:  # noqa: BLE001
            out[f"{name}_error"] = str(e)
            ok = False
    if "kdprune_tokens_per_s" in out and "pytorch_tokens_per_s" in out:
        out["kdprune_over_pytorch"] = round(out["kdprune_tokens_per_s"] / out["pytorch_tokens_per_s"], 3)
    print(json.dumps(out))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
