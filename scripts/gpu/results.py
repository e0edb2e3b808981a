#!/usr/bin/env python3
"""scripts/gpu-check.sh's results: one JSON file from the parts' records, and a short summary.

  results.py WORK OUT.json MODE ELAPSED_S    assemble WORK/results.jsonl + WORK/parts/*.kv
  results.py --junit FILE.xml [LOG]          pass/fail/skip counts of a ctest JUnit file (and
                                             ctest's own failed/total line from its log)
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def ctest_line(log):
    """ctest's own closing count: "NN% tests passed, F tests failed out of T" (a test that was
    not built counts as failed there, as "not run" in the JUnit file)."""
    import re
    try:
        m = re.findall(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)", open(log).read())
    except OSError:
        return {}
    return {"ctest_failed": int(m[-1][1]), "ctest_total": int(m[-1][2])} if m else {}


def junit_counts(path):
    root = ET.parse(path).getroot()
    cases = root.iter("testcase")
    c = {"total": 0, "passed": 0, "failed": 0, "skipped": 0, "failed_names": []}
    for t in cases:
        c["total"] += 1
        status = t.get("status", "")
        if t.find("failure") is not None or t.find("error") is not None or status == "fail":
            c["failed"] += 1
            c["failed_names"].append(t.get("name"))
        elif t.find("skipped") is not None or status in ("notrun", "disabled"):
            c["skipped"] += 1
        else:
            c["passed"] += 1
    c["failed_names"] = c["failed_names"][:40]
    return c


def read_kv(path):
    d = {}
    if not os.path.exists(path):
        return d
    for line in open(path, encoding="utf-8", errors="replace"):
        k, _, v = line.rstrip("\n").partition("\t")
        try:
            d[k] = json.loads(v)
        except ValueError:
            d[k] = v
    return d


def main():
    if sys.argv[1] == "--junit":
        try:
            c = junit_counts(sys.argv[2])
            if len(sys.argv) > 3:
                c.update(ctest_line(sys.argv[3]))
            print(json.dumps(c))
        except Exception as e:  # noqa: BLE001
            print(json.dumps({"error": f"{sys.argv[2]}: {e}"}))
            sys.exit(1)
        return
    work, out, mode, elapsed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    parts = []
    if os.path.exists(os.path.join(work, "results.jsonl")):
        for line in open(os.path.join(work, "results.jsonl")):
            try:
                parts.append(json.loads(line))
            except ValueError:
                pass
    for p in parts:
        p["results"] = read_kv(os.path.join(work, "parts", p["part"] + ".kv"))
    env = {}
    try:
        env = json.load(open(os.path.join(work, "pyenv.json")))
    except Exception:  # noqa: BLE001
        pass
    try:
        env["host"] = open(os.path.join(work, "env.txt")).read().splitlines()
    except OSError:
        pass
    doc = {"mode": mode, "elapsed_s": elapsed, "env": env, "parts": parts}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)

    # Summary: one line per part, the numbers that matter.
    print(f"\n==== gpu-check summary ({mode}, {elapsed} s) ====")
    for p in parts:
        r, extra = p.get("results", {}), ""
        if p["part"].startswith("parity"):
            bits = []
            for k, v in r.items():
                if isinstance(v, dict) and "max_abs_diff" in v:
                    m = v["max_abs_diff"].get("mlm_logits")
                    bits.append(f"{k} {m:.2e}" if isinstance(m, float) else f"{k} {m}")
            extra = "; ".join(bits)
        elif p["part"] == "throughput" and isinstance(r.get("result"), dict):
            t = r["result"]
            extra = (f"kdprune {t.get('kdprune_tokens_per_s')} tok/s, pytorch "
                     f"{t.get('pytorch_tokens_per_s')} tok/s, ratio {t.get('kdprune_over_pytorch')}, "
                     f"MFU kdprune {t.get('kdprune_mfu_vs_h200_bf16_dense_spec')} / pytorch "
                     f"{t.get('pytorch_mfu_vs_h200_bf16_dense_spec')} (of 989 TFLOP/s)")
        elif isinstance(r.get("counts"), dict):
            c = r["counts"]
            extra = (f"{c.get('passed')} passed, {c.get('failed')} failed, {c.get('skipped')} "
                     f"skipped of {c.get('total')}")
        elif "error" in p:
            extra = p["error"]
        print(f"{p['part']:<16} {p.get('status', '?'):<8} {str(p.get('seconds', '')):>4}s  {extra}")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
