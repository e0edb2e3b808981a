#!/usr/bin/env python3
"""Prints bench/lester_compare.sh's table: prompt tuning (per prompt length: the member best on
dev, the members' mean ± sd, their ensemble) vs model tuning (mean ± sd over seeds) of the same
frozen model, per model, in the task's metric on test, with the majority-class baseline.

usage: lester_table.py OUT LABEL [LABEL ...]
OUT/LABEL-prompt/prompt_task_report.json (kdprune prompt-task) and
OUT/LABEL-model/finetune_report.json (kdprune finetune) for each LABEL. Model sizes come from
`kdprune inspect --json` ($KD_BUILD_DIR/kdprune, default build/kdprune)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KDPRUNE = os.path.join(os.environ.get("KD_BUILD_DIR", os.path.join(ROOT, "build")), "kdprune")


def encoder_params(model_dir):
    """Parameters of the Transformer layers (embeddings and heads excluded), and H."""
    info = json.loads(subprocess.run([KDPRUNE, "inspect", "--json", "--model", model_dir],
                                     capture_output=True, text=True, check=True).stdout)
    return info["parameters"]["encoder"], info["hidden_size"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    print("| model (encoder params) | tuning | trainable params | prompt (best on dev) "
          "| single prompts (mean ± sd) | ensemble | model tuning (mean ± sd) | majority |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label in sys.argv[2:]:
        prompt = json.load(open(os.path.join(out, f"{label}-prompt", "prompt_task_report.json")))
        tuned = json.load(open(os.path.join(out, f"{label}-model", "finetune_report.json")))
        metric = prompt["metric"]
        params, hidden = encoder_params(prompt["model"])
        row = tuned["summary"][0]["test"][metric]
        seeds = tuned["summary"][0]["seeds"]
        majority = prompt["majority"]["test"][metric]
        model_cell = f"{row['mean']:.4f} ± {row['sd']:.4f} (seeds {','.join(map(str, seeds))})"
        name = f"{label} ({params / 1e6:.2f} M)"
        for r in prompt["runs"]:
            t = r["test"]
            print(f"| {name} | prompt, length {r['length']} | {r['length'] * hidden:,} "
                  f"| {t['prompt'][metric]:.4f} | {t['mean_each']:.4f} ± {t['sd_each']:.4f} "
                  f"| {t['ensemble'][metric]:.4f} | | {majority:.4f} |")
        print(f"| {name} | model | {params:,} + embeddings | | | | {model_cell} | {majority:.4f} |")
    print(f"\n{metric} on the test split; prompts: {len(prompt['runs'][0]['test']['each'])} "
          f"members per length ({', '.join(prompt['runs'][0]['inits'])}; orders "
          f"{prompt['runs'][0]['orders']}), {prompt['runs'][0]['steps']} steps each; "
          f"cloze '{prompt['cloze']}', verbaliser {prompt['verbaliser']}")


if __name__ == "__main__":
    main()
