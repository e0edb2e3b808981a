#!/usr/bin/env python3
"""Prints LAMP's results with their controls as a Markdown table, mean ± sd over seeds.

usage: lamp_controls_table.py LABEL=RUN_DIR[,RUN_DIR...] [LABEL=RUN_DIR[,...] ...]
Each RUN_DIR is a finished `kdprune relmask` run (relmask_report.json, specialisation.json); the
run directories after one label are its seeds. Rows: mean over relations of test P@1 with the
relation's mask, with an untrained random mask of the same per-matrix sparsity, with the full
model, and train-fact P@1 (the paper's protocol); the specialisation matrix's own-mask and
shifted-mask means (first N test facts per cell); the fraction of mask entries training flipped;
the overlap of two relations' masks over what chance gives; union and intersection sparsity
beside that of independent random masks. The last column says whether the first two columns'
difference exceeds both spreads (sd over seeds)."""
import json
import statistics
import sys


def rows_of(run):
    report = json.load(open(f"{run}/relmask_report.json"))
    special = json.load(open(f"{run}/specialisation.json"))
    mean = lambda xs: sum(xs) / len(xs)
    comb = special["combined"]
    return {
        "test P@1, trained mask": mean([r["test"]["p_at_1"] for r in report]),
        "test P@1, random mask (same sparsity)": mean([r["test_random_mask"]["p_at_1"] for r in report]),
        "test P@1, full model": mean([r["test_full_model"]["p_at_1"] for r in report]),
        "train-fact P@1, trained mask (paper's protocol)": mean([r["train"]["p_at_1"] for r in report]),
        "specialisation: own mask": special["diagonal_mean"],
        "specialisation: another relation's mask (shifted)": special["shifted_mean"],
        "specialisation: full model": special["full_model_mean"],
        "mask sparsity": mean([r["sparsity"] for r in report]),
        "entries flipped by training": mean([r["flipped"] for r in report]),
        "overlap / chance (mean over pairs)": special["overlap"]["mean_ratio_off_diagonal"],
        "union sparsity": comb["union"]["sparsity"],
        "union sparsity, independent random masks": comb["union"]["sparsity_if_independent"],
        "intersection sparsity": comb["intersection"]["sparsity"],
        "intersection sparsity, independent random masks": comb["intersection"]["sparsity_if_independent"],
    }


def main(args):
    if not args:
        sys.exit(__doc__)
    columns = []
    for arg in args:
        label, _, runs = arg.partition("=")
        if not runs:
            sys.exit(f"lamp_controls_table: '{arg}' is not LABEL=RUN_DIR[,RUN_DIR...]")
        columns.append((label, [rows_of(r) for r in runs.split(",")]))
    names = list(columns[0][1][0])
    header = [f"{label} ({len(seeds)} seeds)" for label, seeds in columns]
    print("| quantity | " + " | ".join(header) + (" | difference > both sd |" if len(columns) > 1 else " |"))
    print("|---" * (len(columns) + 1 + (len(columns) > 1)) + "|")
    for name in names:
        cells, stats = [], []
        for _, seeds in columns:
            values = [s[name] for s in seeds]
            m = statistics.mean(values)
            sd = statistics.stdev(values) if len(values) > 1 else float("nan")
            stats.append((m, sd))
            cells.append(f"{m:.4f} ± {sd:.4f}")
        line = f"| {name} | " + " | ".join(cells)
        if len(columns) > 1:
            (m0, s0), (m1, s1) = stats[0], stats[1]
            if s0 != s0 or s1 != s1:  # nan: one seed has no spread
                line += " | n/a (1 seed)"
            else:
                line += " | " + ("yes" if abs(m0 - m1) > max(s0, s1) else "no")
        print(line + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
