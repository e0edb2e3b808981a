#!/usr/bin/env python3
"""Prints bench/distill_study.sh's table: per method and budget, mean ± sd over the distillation
seeds of the held-out MLM accuracy, WordNet probe P@1 and each task's fine-tuned test metric.

usage: distill_table.py OUT
OUT/sSEED/VARIANT-BUDGET/{summary.json,probe.json} for each distillation run, OUT/teacher-probe.json,
OUT/teacher-eval.json (kdprune eval-mlm),
OUT/equal_time.json and OUT/finetune/finetune_report.json (labels sSEED.VARIANT-BUDGET, teacher)."""
import glob
import json
import os
import statistics
import sys

from students_table import probe_p1  # (in-corpus, held-out template) mean P@1 of an eval-probe JSON

NAMES = {
    "tutor_masked": "Tutor-KD, r_T on X^M (released)",
    "tutor_pseudo": "Tutor-KD, r_T on X'",
    "minilm": "MiniLMv2",
    "kd": "plain KD",
    "mlm": "MLM only",
}


def cell(values, digits=3):
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    report = json.load(open(os.path.join(out, "finetune", "finetune_report.json")))
    tasks = sorted(report["tasks"])
    metric = {t: report["tasks"][t]["metric"] for t in tasks}
    tuned = {}  # (label, task) -> test metric
    for r in report["runs"]:
        tuned[(r["model"], r["task"])] = r["evals"]["test"][metric[r["task"]]]
    groups = {}  # (variant, budget) -> [run dir]
    for run in sorted(glob.glob(os.path.join(out, "s*", "*-*"))):
        if not os.path.isdir(run):
            continue
        variant, budget = os.path.basename(run).rsplit("-", 1)
        groups.setdefault((variant, budget), []).append(run)
    equal = json.load(open(os.path.join(out, "equal_time.json")))
    print(f"Equal wall time: {equal['budget_s']:.0f} s of training (Tutor-KD r_T on X^M, seed 1).")
    print()
    print("| student | budget | steps | tokens/s (seed 1) | held-out MLM acc | probe P@1 "
          "| held-out templates | " + " | ".join(f"{t} ({metric[t]})" for t in tasks) + " |")
    print("|---|---|---:|---:|---:|---:|---:|" + "---:|" * len(tasks))
    tp = probe_p1(os.path.join(out, "teacher-probe.json"))
    teacher_acc = json.load(open(os.path.join(out, "teacher-eval.json")))["accuracy"]
    print(f"| teacher (4 × 256) | — | — | — | {teacher_acc:.3f} | {tp[0]:.3f} | {tp[1]:.3f} | "
          + " | ".join(f"{tuned[('teacher', t)]:.3f}" for t in tasks) + " |")
    print("| majority class | — | — | — | — | — | — | "
          + " | ".join(f"{report['tasks'][t]['majority']['test'][metric[t]]:.3f}" for t in tasks) + " |")
    order = [(v, b) for b in ("steps", "time") for v in NAMES if (v, b) in groups]
    for variant, budget in order:
        runs = groups[(variant, budget)]
        summaries = [json.load(open(os.path.join(r, "summary.json"))) for r in runs]
        probes = [probe_p1(os.path.join(r, "probe.json")) for r in runs]
        labels = [f"{os.path.basename(os.path.dirname(r))}.{os.path.basename(r)}" for r in runs]
        steps = sorted({s["end_step"] for s in summaries})
        print(f"| {NAMES[variant]} | {'equal steps' if budget == 'steps' else 'equal time'} "
              f"| {'/'.join(map(str, steps))} | {summaries[0]['tokens_per_s']:,.0f} "
              f"| {cell([s['heldout_mlm_acc'] for s in summaries])} | {cell([p[0] for p in probes])} "
              f"| {cell([p[1] for p in probes])} | "
              + " | ".join(cell([tuned[(l, t)] for l in labels]) for t in tasks) + " |")
    seeds = sorted({os.path.basename(os.path.dirname(r)) for g in groups.values() for r in g})
    print()
    print(f"Mean ± sd over distillation seeds {', '.join(s[1:] for s in seeds)} "
          "(fine-tuning seed 1 for every student); tokens/s: seed 1's run; probe P@1: mean over "
          "the WordNet relations (test split) with templates that occur in the corpus; held-out "
          "templates: those that never do.")


if __name__ == "__main__":
    main()
