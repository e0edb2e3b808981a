#!/usr/bin/env python3
"""The LAMP specialisation matrix as a picture.

    plot_specialisation.py RUN_DIR/specialisation.json OUT.png [--title TEXT]

Rows: the mask of relation i (and, last, the full model without a mask); columns: the test facts
of relation j; cells: P@1. The diagonal is each relation with its own mask; the paper's claim is
that it beats the full-model row while off-diagonal cells fall below it.
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")  # files only: no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("matrix", help="specialisation.json written by kdprune relmask")
    ap.add_argument("out", help="PNG to write")
    ap.add_argument("--title", default="LAMP specialisation: P@1 of mask i on relation j")
    a = ap.parse_args()
    s = json.load(open(a.matrix))
    rel = s["relations"]
    cells = np.array(s["p_at_1"] + [s["full_model"]])
    rows = [f"mask: {r}" for r in rel] + ["full model"]
    fig, ax = plt.subplots(figsize=(1.2 * len(rel) + 3, 0.6 * len(rows) + 2))
    im = ax.imshow(cells, cmap="viridis", vmin=0, vmax=max(cells.max(), 1e-6), aspect="auto")
    ax.set_xticks(range(len(rel)), rel, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("test facts of relation")
    ax.axhline(len(rel) - 0.5, color="white", linewidth=2)
    for i in range(cells.shape[0]):
        for j in range(cells.shape[1]):
            v = cells[i, j]
            ax.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=8,
                    color="black" if v > 0.6 * cells.max() else "white",
                    fontweight="bold" if i == j else "normal")
    ax.set_title(f"{a.title}\nown mask {s['diagonal_mean']:.3f} · shifted masks "
                 f"{s['shifted_mean']:.3f} · full model {s['full_model_mean']:.3f}", fontsize=9)
    fig.colorbar(im, ax=ax, label="P@1")
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
