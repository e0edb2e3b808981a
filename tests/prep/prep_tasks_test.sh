#!/usr/bin/env bash
# kdprune-prep tasks end to end on small fixtures: a WordNet data.* directory and a GCIDE file
# written here (a few hand-written entries plus generated filler families so every split has
# examples), and tests/prep/fixtures/spam (13 hand-written mails). Checks the output contract
# (check_tasks.py: headers, labels, sizes, class counts, no text in two splits, the majority
# baseline recomputed from the files), what each task holds, the majority numbers of the spam
# tasks against a hand count, determinism, caps, --only, and a missing SpamAssassin directory.
# usage: prep_tasks_test.sh KDPRUNE_PREP SOURCE_DIR WORK_DIR
set -euo pipefail
prep="$1"; src="$2"; work="$3"
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"; mkdir -p "$work"
check="$src/tests/prep/check_tasks.py"
spam="$src/tests/prep/fixtures/spam"
all=(wn_supersense gcide_fields wn_gloss_pair spam spam_kind)

# ---- fixtures: WordNet (data.noun/verb/adj/adv) + relations.json for the checks below ----------
/usr/bin/python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
import os; os.makedirs(w + "/wordnet")
lines = {"noun": ["  1 This software and database is being provided to you, the LICENSEE"],
         "verb": [], "adj": [], "adv": []}
words, related = {}, {}   # gloss -> words; gloss -> glosses of related synsets
def add(pos, off, lex, typ, ws, ptrs, gloss):
    p = " ".join(f"{s} {o:08d} {tp} 0000" for s, o, tp in ptrs)
    wl = " ".join(f"{x.replace(' ', '_')} 0" for x in ws)
    frames = " 01 + 02 00" if pos == "verb" else ""
    lines[pos].append(f"{off:08d} {lex:02d} {typ} {len(ws):02x} {wl} {len(ptrs):03d} {p}{frames} | {gloss}")
# hand-written: animal > dog, cat, hound (dog), pup/puppy sharing a gloss; entity alone
add("noun", 100, 5, "n", ["animal"], [("~", 200, "n"), ("~", 300, "n"), ("~", 400, "n")],
    "a living organism that feeds on organic matter")
add("noun", 200, 5, "n", ["dog", "domestic dog"], [("@", 100, "n")],
    'a member of the genus Canis; "the dog barked all night"')
add("noun", 300, 5, "n", ["cat"], [("@", 100, "n")], "feline mammal having thick soft fur")
add("noun", 400, 5, "n", ["dog", "hound"], [("@", 100, "n")], "a dog that hunts by scent")
add("noun", 500, 5, "n", ["pup"], [("@", 100, "n")], "a young dog")
add("noun", 600, 5, "n", ["puppy"], [("@", 100, "n")], "a young dog")
add("noun", 700, 3, "n", ["entity"], [], "that which is perceived to exist")
add("adj", 100, 0, "a", ["good"], [("&", 200, "s"), ("!", 300, "a")], "having desirable or positive qualities")
add("adj", 200, 0, "s", ["nice"], [("&", 100, "a")], "pleasant or agreeable in nature")
add("adj", 300, 0, "a", ["bad"], [("!", 100, "a")], "having undesirable qualities")
# generated filler: families of a parent and 6 children in 4 noun and 2 verb lexicographer files;
# each parent is a child of the previous family's parent of its part of speech (a hierarchy, so
# a parent's hyponyms belong to another family and may lie in another split)
lexes = [("noun", 6, "n"), ("noun", 13, "n"), ("noun", 18, "n"), ("noun", 27, "n"),
         ("verb", 38, "v"), ("verb", 31, "v")]
off, last_parent = 1000, {}
for f in range(36):
    pos, lex, t = lexes[f % len(lexes)]
    parent, kids = off, list(range(off + 1, off + 7)); off += 10
    up = [("@", last_parent[pos], t)] if pos in last_parent else []
    add(pos, parent, lex, t, [f"kind{f}"], up + [("~", k, t) for k in kids], f"parent gloss of family {f}")
    for i, k in enumerate(kids):
        add(pos, k, lex, t, [f"word{f}x{i}", f"alias{f}x{i}"], [("@", parent, t)],
            f"child gloss {i} of family {f} in file {lex}")
    last_parent[pos] = parent
# relations for the checks: every synset's gloss -> words, and the glosses a negative may use
syn = {}
for pos, ls in lines.items():
    for l in ls:
        if l.startswith(" "): continue
        head, gloss = l.split(" | ")
        f = head.split()
        n = int(f[3], 16)
        ws = [f[4 + 2 * i].replace("_", " ") for i in range(n)]
        p = int(f[4 + 2 * n])
        ptrs = [(f[5 + 2 * n + 4 * i + 1], f[5 + 2 * n + 4 * i + 2][0].replace("s", "a"))
                for i in range(p)]
        syn[(pos[0], int(f[0]))] = (ws, gloss.split('"')[0].rstrip(" ;"),
                                    [(tp, int(to)) for to, tp in ptrs])
under = {}  # synset -> the synsets pointing to it (hyponyms, satellites, antonyms)
for key, (_, _, ptrs) in syn.items():
    for t in ptrs: under.setdefault(t, []).append(key)
for key, (ws, gloss, ptrs) in syn.items():
    words[gloss] = ws
    rel = set(ptrs) | set(under.get(key, []))  # hypernyms, hyponyms, antonyms, head/satellites
    for t in ptrs: rel |= set(under.get(t, []))  # siblings: the others under its parent / head
    related[gloss] = sorted({syn[r][1] for r in rel} - {gloss})
for pos, ls in lines.items():
    open(f"{w}/wordnet/data.{pos}", "w").write("\n".join(ls) + ("\n" if ls else ""))
json.dump({"words": words, "related": related}, open(w + "/wordnet.json", "w"))

# GCIDE: labels before a sense, ending a header line (after an etymology, with an accent code),
# undotted ones, after a {phrase}; generated filler: 14 headwords per field, 2 senses each.
g = []
g.append('Aardvark \\Aard"vark`\\, n. [D., earth-pig.]\n   (Zool.)\n   An edentate mammal of South Africa that feeds on ants.\n   [1913 Webster]\n')
g.append('Abalone \\Ab`a*lo"ne\\ ([a^]b`[.a]*l[=o]"n[-e]), n. (Zo["o]l.)\n   A univalve mollusk of the genus {Haliotis}, lined with pearl.\n   [1913 Webster]\n')
g.append('Abate \\A*bate"\\, v. t.\n   1. (Law) To put an end to a nuisance; to do away with.\n      [1913 Webster]\n\n   {To abate a writ} (Law), to defeat it for some fault.\n      [1913 Webster]\n')
g.append('Rareword \\Rare"word\\, n. (Her.)\n   A bearing seen on only two shields of the realm.\n   [1913 Webster]\n')
g.append('Rareword \\Rare"word\\, n. (Her.)\n   A second bearing seen on only a few old shields.\n   [1913 Webster]\n')
g.append('Twin \\Twin\\, n. (Bot.)\n   A plant that grows the same way in every garden.\n   [1913 Webster]\n')
g.append('Twain \\Twain\\, n. (Zool.)\n   A plant that grows the same way in every garden.\n   [1913 Webster]\n')
g.append('Plain \\Plain\\, n.\n   A word with no field label at all in its entry.\n   [1913 Webster]\n')
for field, n in (("Zool.", 18), ("Bot.", 16), ("Law", 14), ("Chem.", 12)):
    for i in range(n):
        hw = f"Hw{field[:3]}{i}"
        g.append(f'{hw} \\{hw}\\, n. [L.] ({field})\n   1. First sense of headword {hw} in its own field.\n      [1913 Webster]\n\n'
                 f'   2. Second sense of headword {hw} in its own field.\n      [1913 Webster]\n')
open(w + "/gcide.dict", "w").write("\n".join(g))
PY

# ---- a full run --------------------------------------------------------------------------------
args=(--wordnet-dir "$work/wordnet" --gcide "$work/gcide.dict" --spam-dir "$spam" --gcide-min-definitions 5 --seed 7)
"$prep" tasks --out "$work/a" "${args[@]}" > "$work/a.log" 2>&1 || { cat "$work/a.log"; fail "tasks run failed"; }
cat "$work/a.log"
/usr/bin/python3 "$check" "$work/a" "${all[@]}" || fail "output contract"
grep -q "tasks summary" "$work/a.log" || fail "no summary table"
grep -q "spam: 13 mails: 1 with an empty text, 1 duplicate texts" "$work/a.log" || fail "spam counts not reported"

/usr/bin/python3 - "$work" <<'PY' || fail "task contents"
import json, sys
w = sys.argv[1]
rel = json.load(open(w + "/wordnet.json"))
def rows(task, split):
    return [l.split("\t") for l in open(f"{w}/a/{task}/{split}.tsv").read().split("\n")[1:-1]]
def every(task):
    return [r for s in ("train", "dev", "test") for r in rows(task, s)]
def meta(task):
    return json.load(open(f"{w}/a/{task}/task.json"))

# wn_supersense: glosses without examples, lexicographer-file labels, shared glosses left out
ss = {r[0]: r[1] for r in every("wn_supersense")}
assert "a young dog" not in ss, "a gloss shared by two synsets was kept"
assert ss["a member of the genus Canis"] == "noun.animal", ss.get("a member of the genus Canis")
assert ss["that which is perceived to exist"] == "noun.Tops"
assert ss["pleasant or agreeable in nature"] == "adj.all"
assert ss["child gloss 2 of family 5 in file 31"] == "verb.cognition"
assert len(ss) == 10 + 36 * 7 - 2, len(ss)
labels = meta("wn_supersense")["labels"]
order = ["adj.all", "noun.Tops", "noun.animal", "noun.artifact", "noun.food", "noun.person",
         "noun.substance", "verb.cognition", "verb.motion"]
assert labels == order, labels   # the classes that occur, in lexnames order
assert meta("wn_supersense")["metric"] == "macro_f1"

# wn_gloss_pair: balanced per split; a positive's gloss is one of its lemma's synsets', a
# negative's is a related synset's that does not hold the lemma; lemmas in one split only
for s in ("train", "dev", "test"):
    r = rows("wn_gloss_pair", s)
    assert sum(x[2] == "defines" for x in r) * 2 == len(r), (s, len(r))
    for lemma, gloss, label in r:
        assert gloss in rel["words"], gloss
        holds = lemma in rel["words"][gloss]
        assert holds == (label == "defines"), (lemma, gloss, label)
        if label == "other":
            owners = [g for g, ws in rel["words"].items() if lemma in ws]
            assert any(gloss in rel["related"][g] for g in owners), (lemma, gloss)
assert meta("wn_gloss_pair")["labels"] == ["other", "defines"]
assert meta("wn_gloss_pair")["pair"] is True and meta("wn_gloss_pair")["metric"] == "accuracy"

# gcide_fields: fields with >= 5 definitions by frequency; labels and duplicates out of the text
gf = meta("gcide_fields")
assert gf["labels"] == ["Zool.", "Bot.", "Law", "Chem."], gf["labels"]
texts = {r[0]: r[1] for r in every("gcide_fields")}
assert texts["A univalve mollusk of the genus Haliotis, lined with pearl."] == "Zool."
assert texts["To put an end to a nuisance; to do away with."] == "Law"
assert texts["To abate a writ: to defeat it for some fault."] == "Law"
assert not any("(Law)" in t or "(Zool.)" in t for t in texts), "a label left in a text"
assert not any("same way in every garden" in t or "shields" in t or "no field label" in t
               for t in texts)
where = {}
for s in ("train", "dev", "test"):   # both senses of a headword in the same split
    for t, _ in rows("gcide_fields", s):
        if "headword" in t:
            assert where.setdefault(t.split()[4], s) == s, t

# spam: mail text extraction
sp = {r[0]: r[1] for r in every("spam")}
assert sp["R\u00e9union notes Caf\u00e9 at ten on Friday, the agenda is in the wiki; please read it before we meet."] == "ham"
assert sp["patch for the parser The attached patch fixes the off-by-one in the tokenizer loop."] == "ham"
assert sp["Your August newsletter New in store: garden chairs & tables Unsubscribe at any time."] == "ham"
assert sp["Your statement is ready Your monthly statement for account ending 1234 is ready to view online."] == "ham"
assert sp["Life Insurance - Why Pay More? Save up to 70% on Life Insurance. Click here now!"] == "spam"
assert sp["cheap meds online Lowest prices on all medications, no prescription needed."] == "spam"
assert len(sp) == 11, len(sp)
assert not any(x in t for t in sp for x in ("HEADERTEXT", "HTML COPY", "TVqQ", "color: red", "Received"))
print("task contents: ok")
PY

# Majority baselines of the spam tasks, counted by hand for seed 7 (FNV-1a of each file's MD5):
#   train: easy-ham-1/00002, easy-ham-2/00001, hard-ham-1/00001, hard-ham-1/00002, spam-1/00001,
#          spam-2/00001 -> ham 4, spam 2; easy_ham 2, hard_ham 2, spam 2 (a tie: easy_ham, first)
#   dev:   easy-ham-1/00001, spam-1/00002               -> 1 easy_ham, 1 spam
#   test:  easy-ham-2/00002, spam-2/00002, spam-2/00003 -> 1 easy_ham, 2 spam
#   (easy-ham-1/00003 repeats 00001's text and hard-ham-1/00003 has none: both left out)
# spam predicts ham: dev accuracy 1/2, test 1/3, F1 of spam 0. spam_kind predicts easy_ham: dev
# accuracy 1/2, macro-F1 (2·1/(2+1))/3 = 2/9; test accuracy 1/3, macro-F1 (2·1/(3+1))/3 = 1/6.
/usr/bin/python3 - "$work/a" <<'PY' || fail "majority baseline differs from the hand count"
import json, sys
d = sys.argv[1]
s, k = json.load(open(d + "/spam/task.json")), json.load(open(d + "/spam_kind/task.json"))
assert s["class_counts"] == {"train": {"ham": 4, "spam": 2}, "dev": {"ham": 1, "spam": 1},
                             "test": {"ham": 1, "spam": 2}}, s["class_counts"]
assert s["majority"] == {"label": "ham", "dev": {"f1": 0.0, "accuracy": 0.5},
                         "test": {"f1": 0.0, "accuracy": 1 / 3}}, s["majority"]
assert k["class_counts"]["train"] == {"easy_ham": 2, "hard_ham": 2, "spam": 2}
m = k["majority"]
assert m["label"] == "easy_ham", m
assert abs(m["dev"]["macro_f1"] - 2 / 9) < 1e-12 and m["dev"]["accuracy"] == 0.5, m
assert abs(m["test"]["macro_f1"] - 1 / 6) < 1e-12 and abs(m["test"]["accuracy"] - 1 / 3) < 1e-12, m
assert s["metric"] == "f1" and s["also"] == ["accuracy"] and k["metric"] == "macro_f1"
PY

# ---- determinism, seeds, caps, --only ----------------------------------------------------------
"$prep" tasks --out "$work/b" "${args[@]}" > "$work/b.log" 2>&1 || fail "second run failed"
diff -r "$work/a" "$work/b" > /dev/null || fail "same seed, different output"
"$prep" tasks --out "$work/c" "${args[@]/#7/8}" --only wn_supersense > "$work/c.log" 2>&1 || fail "seed 8 run failed"
! cmp -s "$work/a/wn_supersense/train.tsv" "$work/c/wn_supersense/train.tsv" || fail "the seed changes nothing"
[ "$(ls "$work/c")" = wn_supersense ] || fail "--only wrote other tasks: $(ls "$work/c")"
"$prep" tasks --out "$work/caps" "${args[@]}" --only wn_gloss_pair,wn_supersense --max-train 10 --max-dev 4 \
  --max-test 6 > "$work/caps.log" 2>&1 || fail "capped run failed"
/usr/bin/python3 "$check" "$work/caps" wn_gloss_pair wn_supersense > /dev/null || fail "capped output contract"
for t in wn_gloss_pair wn_supersense; do
  [ "$(($(wc -l < "$work/caps/$t/train.tsv") - 1))" = 10 ] || fail "$t: --max-train 10 not applied"
  [ "$(($(wc -l < "$work/caps/$t/dev.tsv") - 1))" = 4 ] || fail "$t: --max-dev 4 not applied"
done
[ "$(grep -c $'\tdefines$' "$work/caps/wn_gloss_pair/train.tsv")" = 5 ] || fail "caps broke the 50/50 balance"
# the capped train split is a subset of the uncapped one
[ -z "$(comm -23 <(tail -n +2 "$work/caps/wn_supersense/train.tsv" | sort) <(tail -n +2 "$work/a/wn_supersense/train.tsv" | sort))" ] \
  || fail "caps are not a subsample of the split"

# ---- the SpamAssassin data missing: a note, the other tasks still written; asked for: an error --
"$prep" tasks --out "$work/d" "${args[@]/$spam/$work/no-such-dir}" > "$work/d.log" 2>&1 || { cat "$work/d.log"; fail "missing spam dir must not fail the run"; }
grep -q "SpamAssassin data missing (no easy-ham-1 ... spam-2 under $work/no-such-dir): spam and spam_kind not written; install it with scripts/install-deps.sh" "$work/d.log" \
  || { cat "$work/d.log"; fail "missing spam dir not reported"; }
[ "$(ls "$work/d" | tr '\n' ' ')" = "gcide_fields wn_gloss_pair wn_supersense " ] || fail "tasks without spam: $(ls "$work/d")"
/usr/bin/python3 "$check" "$work/d" wn_supersense gcide_fields wn_gloss_pair > /dev/null || fail "tasks without spam: contract"
set +e
"$prep" tasks --out "$work/e" "${args[@]/$spam/$work/no-such-dir}" --only spam_kind > "$work/e.log" 2>&1; rc=$?
"$prep" tasks --out "$work/f" "${args[@]}" --only wn_supersense,nonsense > "$work/f.log" 2>&1; rc2=$?
set -e
[ $rc -ne 0 ] || fail "--only spam_kind without its data must fail"
grep -q "error: .*--only asks for spam tasks, but the SpamAssassin data is missing" "$work/e.log" \
  && grep -q "install it with scripts/install-deps.sh" "$work/e.log" || { cat "$work/e.log"; fail "no error with an install hint"; }
[ $rc2 -ne 0 ] && grep -q "unknown task 'nonsense'" "$work/f.log" || fail "an unknown --only task must fail"
echo "prep_tasks_test: all checks passed"
