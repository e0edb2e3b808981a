#!/usr/bin/env python3
"""A campaign's timeline as a PNG: one row per rank, one bar per stage run (its colour per
stage, its name on the bar), time in seconds from the campaign's first stage start.

usage: plot_timeline.py CAMPAIGN_REPORT.json OUT.png
CAMPAIGN_REPORT.json is what `kdprune campaign` writes (campaign_dir/campaign_report.json)."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    report = json.load(open(sys.argv[1]))
    world = report["world"]
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.5 * world))
    colours = plt.get_cmap("tab20").colors
    for i, stage in enumerate(report["stages"]):
        colour = colours[i % len(colours)]
        for run in stage["runs"]:
            start, width = run["start_s"], max(run["end_s"] - run["start_s"], 0.01)
            for r in stage["ranks"]:
                ax.barh(r, width, left=start, color=colour, edgecolor="black",
                        hatch="//" if run["status"] != "done" else None)
            mid = stage["ranks"][len(stage["ranks"]) // 2]
            ax.text(start + width / 2, mid, stage["stage"], ha="center", va="center", fontsize=8)
    ax.set_yticks(range(world))
    ax.set_yticklabels([f"rank {r}" for r in range(world)])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first stage started (hatched: stopped or failed runs)")
    ax.set_title(f"campaign {report['campaign']}: makespan {report['makespan_s']:.0f} s "
                 f"(planned {report['plan']['makespan_s']:.0f} s)")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
