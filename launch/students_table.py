#!/usr/bin/env python3
"""Prints the held-out MLM comparison of distilled students (used by launch/quickstart.sh and
bench/compare_distill.sh).

usage: students_table.py TEACHER_EVAL_JSON RUN_DIR [RUN_DIR ...]
Each RUN_DIR is a finished `kdprune distill` run directory (summary.json, config.yaml). WordNet
probe columns appear when TEACHER_EVAL_JSON's directory holds teacher-probe.json and each
RUN_DIR a probe.json (`kdprune eval-probe --json`)."""
import os
import json
import sys


def field(config_text, key):
    for line in config_text.splitlines():
        if line.strip().startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return "?"


def probe_p1(path):
    """Mean P@1 over relations with in-corpus templates, and over held-out templates."""
    if not os.path.exists(path):
        return None
    rel = json.load(open(path))["relations"]
    seen = [v["p_at_1"] for k, v in rel.items() if "held-out" not in k]
    held = [v["p_at_1"] for k, v in rel.items() if "held-out" in k]
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
    return mean(seen), mean(held)


def probe_cols(p):
    return f"{p[0]:>10.4f}{p[1]:>10.4f}" if p else ""


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    teacher = json.load(open(sys.argv[1]))
    tp = probe_p1(os.path.join(os.path.dirname(sys.argv[1]), "teacher-probe.json"))
    head = f"{'model':<34}{'params':>8}{'steps':>7}{'tokens/s':>10}{'MLM acc':>9}{'ppl':>10}"
    print(head + (f"{'probe P@1':>10}{'held-out':>10}" if tp else ""))
    print(f"{'teacher (pre-trained)':<34}{'':>8}{'':>7}{'':>10}"
          f"{teacher['accuracy']:>9.4f}{teacher['perplexity']:>10.1f}" + probe_cols(tp))
    for run in sys.argv[2:]:
        s = json.load(open(f"{run}/summary.json"))
        config = open(f"{run}/config.yaml").read()
        name = f"student, {s['method']}"
        if s["method"] == "tutor_kd":
            name += f" (replace {field(config, 'replace_fraction')})"
        print(f"{name:<34}{s['student_params'] / 1e6:>7.2f}M{s['end_step']:>7}{s['tokens_per_s']:>10.0f}"
              f"{s['heldout_mlm_acc']:>9.4f}{s['heldout_ppl']:>10.1f}"
              + probe_cols(probe_p1(f"{run}/probe.json")))
    if tp:
        print("probe P@1: mean over the WordNet relations (test split) with templates that occur in "
              "the corpus; held-out: with templates that never do")


if __name__ == "__main__":
    main()
