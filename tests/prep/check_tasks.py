#!/usr/bin/env python3
"""Checks `kdprune-prep tasks` output against the contract kdprune finetune reads.

usage: check_tasks.py DIR TASK...

For each task: train/dev/test.tsv and task.json exist; the header is `text<TAB>label` (pair
tasks: `text<TAB>text_pair<TAB>label`); every row has that many fields, no CR, no empty text, a
label from task.json's labels; sizes and class_counts match the files; no text (and, for pair
tasks, no text_pair) is in two splits; the majority baseline recomputed here from the files
(train's most frequent class, first on a tie; per-class F1 from the confusion counts, macro-F1
over all classes, F1 of labels[1]) equals task.json's. Prints one line per task; exit 1 on a fault.
"""
import json
import os
import sys

SPLITS = ("train", "dev", "test")


def f1_scores(gold, pred, k):
    out = []
    for c in range(k):
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred) if g == c and p != c)
        out.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return out


def check(root, name):
    d = os.path.join(root, name)
    task = json.load(open(os.path.join(d, "task.json"), encoding="utf-8"))
    assert task["name"] == name and task["format"] == "generic", task["name"]
    labels, pair = task["labels"], task["pair"]
    assert len(labels) == len(set(labels)) >= 2, labels
    assert task["metric"] in ("macro_f1", "accuracy", "f1"), task["metric"]
    for key in ("source", "split", "in_pretraining_corpus"):
        assert task[key], key
    header = "text\ttext_pair\tlabel" if pair else "text\tlabel"
    rows = {}
    for split in SPLITS:
        raw = open(os.path.join(d, split + ".tsv"), "rb").read()
        assert b"\r" not in raw, f"{name}/{split}: CR in the file"
        lines = raw.decode("utf-8").split("\n")
        assert lines[0] == header, f"{name}/{split}: header {lines[0]!r}"
        assert lines[-1] == "", f"{name}/{split}: no final newline"
        rows[split] = []
        for no, line in enumerate(lines[1:-1], 2):
            f = line.split("\t")
            assert len(f) == len(header.split("\t")), f"{name}/{split}:{no}: {len(f)} fields"
            assert all(x and x == x.strip() and "  " not in x for x in f), f"{name}/{split}:{no}"
            assert f[-1] in labels, f"{name}/{split}:{no}: label {f[-1]!r} not in {labels}"
            rows[split].append(f)
        assert rows[split], f"{name}/{split}: empty"
        assert task["sizes"][split] == len(rows[split]), (split, task["sizes"][split])
        counts = {l: sum(1 for r in rows[split] if r[-1] == l) for l in labels}
        assert task["class_counts"][split] == counts, (split, task["class_counts"][split], counts)
    for col in range(2 if pair else 1):
        seen = {}
        for split in SPLITS:
            for r in rows[split]:
                other = seen.setdefault(r[col], split)
                assert other == split, f"{name}: {r[col]!r} in {other} and {split}"
    train = [labels.index(r[-1]) for r in rows["train"]]
    majority = max(range(len(labels)), key=lambda c: (train.count(c), -c))
    assert task["majority"]["label"] == labels[majority], task["majority"]["label"]
    for split in ("dev", "test"):
        gold = [labels.index(r[-1]) for r in rows[split]]
        pred = [majority] * len(gold)
        f1 = f1_scores(gold, pred, len(labels))
        want = {"accuracy": sum(g == majority for g in gold) / len(gold),
                "macro_f1": sum(f1) / len(labels), "f1": f1[1]}
        got = task["majority"][split]
        assert set(got) == {task["metric"], *task["also"]}, got
        for m, v in got.items():
            assert abs(v - want[m]) < 1e-12, (name, split, m, v, want[m])
    print(f"{name}: {len(labels)} classes, " +
          ", ".join(f"{s} {len(rows[s])}" for s in SPLITS) +
          f"; majority {labels[majority]} test {task['metric']} "
          f"{task['majority']['test'][task['metric']]:.4f}")
    return task, rows


def main():
    root, names = sys.argv[1], sys.argv[2:]
    try:
        for name in names:
            check(root, name)
    except AssertionError as e:
        print(f"check_tasks: FAIL: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
