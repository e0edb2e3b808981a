#!/usr/bin/python3
"""Where a campaign pays on a cluster: its makespan vs the same stages one after another on all
ranks, at 8, 64 and 512 ranks, from each stage's *measured* cost on this machine and the ring
all-reduce model with link figures measured across emulated nodes; and each stage's scaling
curve under that model.
  bench/campaign_projection.py [--campaign-dir runs/quickstart] [--png docs/img/campaign-scaling.png]

Inputs (every one printed):
- per stage, the rank-seconds it took in a finished campaign (`campaign_report.json`): for a
  trainer that takes a batch per rank (pretrain, distill, schubert) the wall time of one step
  sequence minus the all-reduce time the planner's model gives for the link it ran on (the
  campaign file's link_*); for a stage that splits units (relations, fine-tuning runs, probe
  facts) over its ranks, wall time x ranks;
- the links: `LINKS` below (alpha, B of 2(p-1)a + 2(p-1)/p S/B), fitted by bench/allreduce_fit.py
  on bench/allreduce_nodes.sh's 2-node sweeps (README "Across nodes"), and one assumed fabric.
The planner (`kdprune campaign --dry-run --world N --json`) then places the stages with those
costs (`stages.<name>.cost_s`); its model: a per-rank-batch trainer's duration is its measured
compute plus one gradient all-reduce per optimizer step (more ranks process more data in the same
time, plus communication); a unit-split stage's is cost / min(ranks, units)."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

LINKS = [
    # (label, B GB/s, alpha us): measured fits (README "Across nodes", 2026-11-30), then assumed
    ("veth between emulated nodes (measured)", 1.012, 11.3),
    ("tbf 1 Gbit/s (measured)", 0.117, 0.0),
    ("100 Gbit/s, 5 us (assumed fabric)", 12.5, 5.0),
]
WORLDS = [8, 64, 512]


def dry_run(kdprune, config, world, sets, out):
    cmd = [kdprune, "campaign", "--config", config, "--dry-run", "--world", str(world), "--json", out]
    for s in sets:
        cmd += ["--set", s]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"campaign_projection: {' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    return json.load(open(out))


def measured_costs(report, plan_at_measured_world):
    """stage -> one-rank compute seconds, from the measured wall times."""
    planned = {s["stage"]: s for s in plan_at_measured_world["stages"]}
    costs = {}
    for s in report["stages"]:
        if s["status"] != "done":
            sys.exit(f"campaign_projection: stage {s['stage']} is {s['status']} in the report; "
                     "project from a finished campaign")
        p, r = planned[s["stage"]], len(s["ranks"])
        if p["per_rank_batch"]:
            comm = p["duration_s_by_ranks"][str(r)] - p["work_s_one_rank"] if r > 1 else 0.0
            costs[s["stage"]] = max(1e-3, s["wall_s"] - comm)
        else:
            costs[s["stage"]] = s["wall_s"] * r
    return costs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--campaign-dir", default="runs/quickstart")
    ap.add_argument("--kdprune", default="build/kdprune")
    ap.add_argument("--png", default="")
    a = ap.parse_args()
    report = json.load(open(os.path.join(a.campaign_dir, "campaign_report.json")))
    config = os.path.join(a.campaign_dir, "campaign.yaml")  # the effective file it ran
    tmp = tempfile.mkdtemp()
    world = report["world"]
    base = dry_run(a.kdprune, config, world, [], os.path.join(tmp, "measured.json"))
    costs = measured_costs(report, base)
    print(f"measured on {world} rank(s) ({a.campaign_dir}, makespan {report['makespan_s']:.0f} s):")
    print(f"  {'stage':<18} {'ranks':>5} {'wall s':>8} {'cost s (1 rank)':>16}  kind")
    planned = {p["stage"]: p for p in base["stages"]}
    for s in report["stages"]:
        p = planned[s["stage"]]
        kind = ("batch per rank, %d all-reduces of %.1f MB" % (p["sync_steps"], p["sync_bytes"] / 1e6)
                if p["per_rank_batch"] else "split over %d units" % p["units"])
        print(f"  {s['stage']:<18} {len(s['ranks']):>5} {s['wall_s']:>8.1f} {costs[s['stage']]:>16.1f}  {kind}")
    sets = [f"stages.{k}.cost_s={v:.3f}" for k, v in costs.items()]
    # Every stage sized by the planner (the main job fixes the teacher at 2 ranks, for this host).
    sets += [f"stages.{k}.ranks=auto" for k in costs]
    rows, curves = [], {}
    for label, gbs, us in LINKS:
        link = [f"link_gbytes_per_s={gbs}", f"link_latency_us={us}"]
        for n in WORLDS:
            p = dry_run(a.kdprune, config, n, sets + link, os.path.join(tmp, f"{n}.json"))
            rows.append((label, n, p["makespan_s"], p["sequential_s"]))
            if n == WORLDS[-1]:
                curves[label] = {s["stage"]: s for s in p["stages"]}
    print("\n| link (alpha, B) | ranks | campaign makespan | one after another on all ranks | ratio |")
    print("|---|---|---|---|---|")
    for label, n, mk, seq in rows:
        gbs, us = next((g, u) for l, g, u in LINKS if l == label)
        print(f"| {label}: {us:g} us, {gbs * 1000:g} MB/s | {n} | {mk:.0f} s | {seq:.0f} s | {mk / seq:.2f} |")
    print("\nper-stage scaling under the model (duration s at 1 / 8 / 64 / 512 ranks; "
          "a per-rank-batch trainer does r times the work in that time):")
    for label, stages in curves.items():
        print(f"  {label}")
        for name, s in stages.items():
            d = s["duration_s_by_ranks"]
            print(f"    {name:<18} " + " / ".join(f"{d[str(r)]:.1f}" for r in (1, 8, 64, 512)))
    if a.png:
        plot(curves, rows, a.png)


def plot(curves, rows, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.6))
    ranks = [2 ** k for k in range(11)]
    styles = ["-", "--", ":"]
    # Data-parallel trainers: weak-scaling efficiency d(1)/d(r) (r times the work in d(r)).
    for (label, _, _), ls in zip(LINKS, styles):
        for i, (name, s) in enumerate(n for n in curves[label].items() if n[1]["per_rank_batch"]):
            d = s["duration_s_by_ranks"]
            ax1.plot(ranks, [d["1"] / d[str(r)] for r in ranks], ls=ls, color=f"C{i}",
                     label=f"{name}" if ls == "-" else None)
    ax1.set(xscale="log", ylim=(0, 1.05), xlabel="ranks", ylabel="weak-scaling efficiency",
            title="trainers, batch per rank\n(solid: veth, dashed: 1 Gbit/s, dotted: 100 Gbit/s)")
    ax1.legend(fontsize=7)
    # Unit-split stages: speedup, flat once every unit has a rank (link-independent).
    label = LINKS[0][0]
    for name, s in curves[label].items():
        if s["per_rank_batch"]:
            continue
        d = s["duration_s_by_ranks"]
        ax2.plot(ranks, [d["1"] / d[str(r)] for r in ranks], marker="o", ms=3,
                 label=f"{name} ({s['units']} units)")
    ax2.plot(ranks, ranks, color="grey", lw=0.8, ls=":", label="linear")
    ax2.set(xscale="log", yscale="log", xlabel="ranks", ylabel="speedup vs 1 rank",
            title="stages split over units (relations, runs, facts)")
    ax2.legend(fontsize=6)
    for (lab, _, _), ls in zip(LINKS, styles):
        pts = [(n, mk, seq) for l, n, mk, seq in rows if l == lab]
        line, = ax3.plot([n for n, _, _ in pts], [mk for _, mk, _ in pts], marker="o", ls=ls,
                         label=f"campaign, {lab}")
        ax3.plot([n for n, _, _ in pts], [seq for _, _, seq in pts], marker="x", ls=ls,
                 color=line.get_color(), alpha=0.5, label=f"one after another, {lab}")
    ax3.set(xscale="log", ylim=(0, None), xlabel="ranks", ylabel="makespan (s)",
            title="the study: campaign vs one after another")
    ax3.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
