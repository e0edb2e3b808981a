#!/usr/bin/env python3
"""Per-layer dimensions that survive schuBERT, as a PNG: one panel per dimension (heads A,
query/key width A·k, value width A·v, filter F), one line per model, hidden size H in the legend.

usage: plot_schubert.py OUT.png LABEL=MODEL_DIR [LABEL=MODEL_DIR ...]
Each MODEL_DIR is a model directory (config.json with or without the per-layer lists)."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def layer_dims(cfg):
    L = cfg["num_hidden_layers"]
    A = cfg.get("layer_num_attention_heads", [cfg["num_attention_heads"]] * L)
    default_head = cfg["hidden_size"] // cfg["num_attention_heads"]
    k = cfg.get("layer_attention_head_size", [default_head] * L)
    v = cfg.get("layer_value_head_size", [default_head] * L)
    F = cfg.get("layer_intermediate_size", [cfg["intermediate_size"]] * L)
    return {"heads A": A, "query/key width A·k": [a * x for a, x in zip(A, k)],
            "value width A·v": [a * x for a, x in zip(A, v)], "filter F": F}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    models = []
    for arg in sys.argv[2:]:
        label, _, path = arg.partition("=")
        if not path:
            sys.exit(f"plot_schubert.py: '{arg}' is not LABEL=MODEL_DIR")
        try:
            cfg = json.load(open(f"{path}/config.json"))
        except OSError as e:
            sys.exit(f"plot_schubert.py: cannot read {path}/config.json: {e}")
        models.append((label, cfg))
    names = list(layer_dims(models[0][1]).keys())
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6))
    for ax, name in zip(axes, names):
        for i, (label, cfg) in enumerate(models):
            dims = layer_dims(cfg)[name]
            # The first model (the unpruned reference) dashed and thick, so that a pruned model
            # that kept a dimension whole does not hide it.
            ax.plot(range(len(dims)), dims, marker="o", label=f"{label} (H={cfg['hidden_size']})",
                    linestyle="--" if i == 0 else "-", linewidth=3 if i == 0 else 1.5,
                    zorder=3 if i == 0 else 2)
        ax.set_title(name)
        ax.set_xlabel("layer")
        ax.set_ylim(bottom=0)
        ax.set_xticks(range(max(len(layer_dims(c)[name]) for _, c in models)))
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
