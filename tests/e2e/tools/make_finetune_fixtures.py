#!/usr/bin/python3
"""Task fixtures for tests/e2e/finetune_test.sh, written to OUT:
  OUT/tasks/toy/      a generic pair task (task.json + train/dev/test TSV): does the gloss
                      (text_pair) mention the word (text)? Labels other/defines, metric f1.
  OUT/glue/<TASK>/    GLUE's nine tasks in their distributed formats with their quirks (CoLA's
                      headerless labelled files, MRPC's BOM, STS-B scores, MNLI's 16 columns and
                      matched/mismatched files, a QQP row with missing fields, test files with
                      ids and no labels), a dozen rows each.
"""
import json
import os
import random
import sys

out = sys.argv[1]
rng = random.Random(5)
words = ["dog", "cat", "tree", "water", "fire", "rock", "bird", "fish", "house", "road", "river",
         "stone", "horse", "cow", "grass", "sun"]


def sentence(i):
    w = words[i % len(words)]
    return f"the {w} is near the {words[(i * 7 + 3) % len(words)]} ."


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# Generic pair task.
rows = []
for i in range(96):
    w = words[i % len(words)]
    other = words[(i + 5) % len(words)]
    positive = i % 2 == 0
    gloss = f"a {w} that people see" if positive else f"a {other} that people see"
    rows.append((w, gloss, "defines" if positive else "other"))
rng.shuffle(rows)
for name, part in (("train", rows[:64]), ("dev", rows[64:80]), ("test", rows[80:])):
    write(f"{out}/tasks/toy/{name}.tsv",
          "text\ttext_pair\tlabel\n" + "".join(f"{a}\t{b}\t{l}\n" for a, b, l in part))
write(f"{out}/tasks/toy/task.json", json.dumps(
    {"name": "toy", "format": "generic", "labels": ["other", "defines"], "pair": True,
     "metric": "f1", "also": ["accuracy"]}))

g = f"{out}/glue"
n_train, n_dev, n_test = 12, 6, 4


def labelled(n, fmt, start=0):
    return "".join(fmt(i) for i in range(start, start + n))


# CoLA: labelled files without a header (source, label, mark, sentence); test has one.
for split, n, s in (("train", n_train, 0), ("dev", n_dev, 100)):
    write(f"{g}/CoLA/{split}.tsv", labelled(n, lambda i: f"gj04\t{i % 2}\t{'' if i % 2 else '*'}\t{sentence(i)}\n", s))
write(f"{g}/CoLA/test.tsv", "index\tsentence\n" + labelled(n_test, lambda i: f"{i}\t{sentence(i + 7)}\n"))
# SST-2
for split, n, s in (("train", n_train, 0), ("dev", n_dev, 100)):
    write(f"{g}/SST-2/{split}.tsv", "sentence\tlabel\n" + labelled(n, lambda i: f"{sentence(i)} \t{i % 2}\n", s))
write(f"{g}/SST-2/test.tsv", "index\tsentence\n" + labelled(n_test, lambda i: f"{i}\t{sentence(i + 3)}\n"))
# MRPC: a BOM before the header.
for split, n, s in (("train", n_train, 0), ("dev", n_dev, 100)):
    write(f"{g}/MRPC/{split}.tsv", "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n" +
          labelled(n, lambda i: f"{i % 2}\t{700000 + i}\t{800000 + i}\t{sentence(i)}\t{sentence(i + 1)}\n", s))
write(f"{g}/MRPC/test.tsv", "\ufeffindex\t#1 ID\t#2 ID\t#1 String\t#2 String\n" +
      labelled(n_test, lambda i: f"{i}\t1\t2\t{sentence(i)}\t{sentence(i + 2)}\n"))
# STS-B: float scores.
stsb_h = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2"
for split, n, s in (("train", n_train, 0), ("dev", n_dev, 100)):
    write(f"{g}/STS-B/{split}.tsv", stsb_h + "\tscore\n" + labelled(
        n, lambda i: f"{i}\tmain-captions\tMSRvid\t2012test\t{i:04d}\tnone\tnone\t{sentence(i)}\t{sentence(i + 1)}\t{(i * 0.37) % 5:.3f}\n", s))
write(f"{g}/STS-B/test.tsv", stsb_h + "\n" + labelled(
    n_test, lambda i: f"{i}\tmain-captions\tMSRvid\t2012test\t{i:04d}\tnone\tnone\t{sentence(i)}\t{sentence(i + 4)}\n"))
# QQP: one row with missing fields in train.
qqp_h = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
write(f"{g}/QQP/train.tsv", qqp_h + labelled(n_train, lambda i: f"{i}\t{2 * i}\t{2 * i + 1}\t{sentence(i)}\t{sentence(i + 1)}\t{i % 2}\n")
      + "363362\t711434\t711435\tHow can I?\n")
write(f"{g}/QQP/dev.tsv", qqp_h + labelled(n_dev, lambda i: f"{i}\t{2 * i}\t{2 * i + 1}\t{sentence(i)}\t{sentence(i + 2)}\t{i % 2}\n", 100))
write(f"{g}/QQP/test.tsv", "id\tquestion1\tquestion2\n" + labelled(n_test, lambda i: f"{i}\t{sentence(i)}\t{sentence(i + 3)}\n"))
# MNLI: 16 columns; matched and mismatched dev/test files.
nli3 = ["contradiction", "entailment", "neutral"]
mnli_h = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
          "sentence1_parse\tsentence2_parse\tsentence1\tsentence2")
mnli_row = lambda i: (f"{i}\t{i}\t{i}n\tslate\t(x)\t(y)\t(X)\t(Y)\t{sentence(i)}\t{sentence(i + 1)}\t"
                      + "\t".join([nli3[i % 3]] * 5) + f"\t{nli3[i % 3]}\n")
write(f"{g}/MNLI/train.tsv", mnli_h + "\tlabel1\tgold_label\n".replace("label1\t", "label1\tlabel2\tlabel3\tlabel4\tlabel5\t")
      + labelled(n_train, mnli_row))
for split, s in (("dev_matched", 100), ("dev_mismatched", 200)):
    write(f"{g}/MNLI/{split}.tsv", mnli_h + "\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n" + labelled(n_dev, mnli_row, s))
for split in ("test_matched", "test_mismatched"):
    write(f"{g}/MNLI/{split}.tsv", mnli_h + "\n" + labelled(
        n_test, lambda i: f"{i}\t{i}\t{i}n\tslate\t(x)\t(y)\t(X)\t(Y)\t{sentence(i)}\t{sentence(i + 5)}\n"))
# QNLI, RTE (entailment/not_entailment), WNLI (0/1).
for task, a, b, labels in (("QNLI", "question", "sentence", ["entailment", "not_entailment"]),
                           ("RTE", "sentence1", "sentence2", ["entailment", "not_entailment"]),
                           ("WNLI", "sentence1", "sentence2", ["0", "1"])):
    for split, n, s in (("train", n_train, 0), ("dev", n_dev, 100)):
        write(f"{g}/{task}/{split}.tsv", f"index\t{a}\t{b}\tlabel\n" + labelled(
            n, lambda i: f"{i}\t{sentence(i)}\t{sentence(i + 1)}\t{labels[i % 2]}\n", s))
    write(f"{g}/{task}/test.tsv", f"index\t{a}\t{b}\n" + labelled(n_test, lambda i: f"{i}\t{sentence(i)}\t{sentence(i + 2)}\n"))
