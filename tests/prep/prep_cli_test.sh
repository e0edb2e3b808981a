#!/usr/bin/env bash
# kdprune-prep end to end: tokenize (ids from Hugging Face tokenizers), corpus, probes,
# pretraining-data determinism (same seed -> identical datasets, read with h5py), bad input.
# usage: prep_cli_test.sh KDPRUNE_PREP SOURCE_DIR WORK_DIR
set -euo pipefail
prep="$1"; src="$2"; work="$3"
vocab="$src/data/vocab/bert-base-uncased-vocab.txt"
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"; mkdir -p "$work"

# tokenize: expected ids produced by HF tokenizers 0.23.2 (tests/text/fixtures).
got=$(printf 'Hello, World!\nnaïve café résumé Ångström\n\n[CLS] a [SEP] b [SEP]\n' | "$prep" tokenize --vocab "$vocab" --threads 2)
want=$'7592 1010 2088 999\n15743 7668 13746 17076 15687\n\n101 1037 102 1038 102'
[ "$got" = "$want" ] || fail "tokenize: got [$got] want [$want]"
# order is preserved across threads on a large input
seq 1 20000 | sed 's/$/ dogs/' > "$work/many.txt"
"$prep" tokenize --vocab "$vocab" --threads 2 < "$work/many.txt" > "$work/many.ids"
"$prep" tokenize --vocab "$vocab" --threads 1 < "$work/many.txt" > "$work/many1.ids"
cmp -s "$work/many.ids" "$work/many1.ids" || fail "tokenize: threads change the output"
[ "$(wc -l < "$work/many.ids")" = 20000 ] || fail "tokenize: line count"

# corpus + probes from Debian's WordNet and GCIDE (skip if not installed)
if [ -r /usr/share/wordnet/data.noun ] && [ -r /usr/share/dictd/gcide.dict.dz ]; then
  "$prep" corpus --source wordnet,gcide --out "$work/corpus" --vocab "$vocab" > "$work/corpus.log"
  grep -qi "^dog, domestic dog, canis familiaris: a member of the genus canis" "$work/corpus/wordnet.txt" \
    || fail "corpus: dog gloss with headword missing"
  grep -qx "dog is a kind of canine ." "$work/corpus/wordnet.txt" || fail "corpus: IsA fact sentence missing"
  # held-out templates: their fixed words occur nowhere in the corpus
  for phrase in " falls under the category of " " is one piece of " " has among its parts " \
                " is fashioned from " " is one of the members of " " is the contrary of "; do
    ! cat "$work/corpus/"*.txt | grep -qi -- "$phrase" || fail "corpus: held-out template '$phrase' occurs"
  done
  # wordnet-facts: only relation-fact sentences with one-token objects (no glosses, no
  # "physical entity" objects), each object marked as a salient span (U+2063 around it),
  # otherwise the same sentences as in wordnet.txt
  "$prep" corpus --source wordnet-facts --out "$work/facts" --vocab "$vocab" > "$work/facts.log"
  m=$'\u2063'
  grep -qx "dog is a kind of ${m}canine${m} ." "$work/facts/wordnet-facts.txt" || fail "facts corpus: dog IsA (marked) missing"
  sed "s/$m//g" "$work/facts/wordnet-facts.txt" > "$work/facts-plain.txt"
  [ "$(grep -c . "$work/facts/wordnet-facts.txt")" = "$(grep -c "${m}[^ ]*${m}" "$work/facts/wordnet-facts.txt")" ] ||
    fail "facts corpus: a fact sentence without a marked object"
  ! grep -q ": " "$work/facts-plain.txt" || fail "facts corpus: a gloss line slipped in"
  # the smaller relations' facts repeated up to 4 times (default --fact-repeats), IsA's once
  [ "$(grep -cx "dog is a kind of canine ." "$work/facts-plain.txt")" = 1 ] || fail "facts corpus: IsA fact repeated"
  [ "$(grep -cx "organism is made of tissue ." "$work/facts-plain.txt")" = 4 ] || fail "facts corpus: MadeOf fact not 4 times"
  "$prep" corpus --source wordnet-facts --fact-repeats 1 --out "$work/facts1" --vocab "$vocab" > /dev/null
  [ "$(grep -cx "organism is made of ${m}tissue${m} ." "$work/facts1/wordnet-facts.txt")" = 1 ] || fail "facts corpus: --fact-repeats 1"
  ! grep -q "kind of physical entity" "$work/facts-plain.txt" || fail "facts corpus: multi-token object"
  [ -z "$(grep -v '^$' "$work/facts-plain.txt" | sort -u | comm -23 - <(sort -u "$work/corpus/wordnet.txt"))" ] ||
    fail "facts corpus: sentences that wordnet.txt does not have"
  # --salient-spans reads the marks (one per object token; every object is one WordPiece)
  "$prep" pretraining-data --input "$work/facts" --vocab "$vocab" --out "$work/facts-data" \
    --max-seq-length 32 --max-predictions 10 --dupe-factor 1 --salient-spans > "$work/facts-data.log"
  marked=$(sed -n 's/.*salient spans first (\([0-9]*\) tokens marked).*/\1/p' "$work/facts-data.log")
  [ "$marked" = "$(grep -c . "$work/facts/wordnet-facts.txt")" ] ||
    fail "pretraining-data --salient-spans: $marked tokens marked, want one per fact sentence"
  grep -qi "^abdomen: the belly" "$work/corpus/gcide.txt" || fail "corpus: gcide definition missing"
  ! grep -q '\[1913 Webster\]' "$work/corpus/gcide.txt" || fail "corpus: gcide markup left"
  "$prep" probes --source wordnet --out "$work/probes" --vocab "$vocab" > "$work/probes.log"
  grep -q '"sub_label":"dog"' "$work/probes/"*/IsA.jsonl || fail "probes: dog IsA missing"
  for f in "$work/probes/"*/*.jsonl; do
    /usr/bin/python3 - "$f" <<'PY' || fail "probes: bad JSONL $f"
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    assert j["masked_sentences"][0].count("[MASK]") == 1 and j["obj_label"] and j["sub_label"]
PY
  done
  # split by subject: no test subject in train
  grep -o '"sub_label":"[^"]*"' "$work/probes/train/IsA.jsonl" | sort -u > "$work/train.subj"
  grep -o '"sub_label":"[^"]*"' "$work/probes/test/IsA.jsonl" | sort -u > "$work/test.subj"
  [ -z "$(comm -12 "$work/train.subj" "$work/test.subj")" ] || fail "probes: subject in train and test"
fi

# pretraining-data: deterministic for a seed, independent of threads
corpus="$src/tests/e2e/fixtures/corpus.txt"
args=(--input "$corpus" --vocab "$vocab" --shards 2 --max-seq-length 64 --max-predictions 10 --dupe-factor 2)
"$prep" pretraining-data "${args[@]}" --seed 7 --out "$work/a" --threads 1 > "$work/a.log" 2>&1
"$prep" pretraining-data "${args[@]}" --seed 7 --out "$work/b" --threads 2 > "$work/b.log" 2>&1
"$prep" pretraining-data "${args[@]}" --seed 8 --out "$work/c" > "$work/c.log" 2>&1
/usr/bin/python3 - "$work" <<'PY' || fail "pretraining-data: shards differ or bad layout"
import h5py, numpy as np, sys, glob
w = sys.argv[1]
names = ["input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids", "next_sentence_labels"]
def load(d):
    return [{n: h5py.File(f, "r")[n][()] for n in names} for f in sorted(glob.glob(d + "/train/*.h5"))]
a, b, c = load(w + "/a"), load(w + "/b"), load(w + "/c")
assert len(a) == 2 and abs(len(a[0]["input_ids"]) - len(a[1]["input_ids"])) <= 1
for x, y in zip(a, b):
    for n in names: assert np.array_equal(x[n], y[n]), n
assert not np.array_equal(a[0]["input_ids"], c[0]["input_ids"])
f = h5py.File(sorted(glob.glob(w + "/a/train/*.h5"))[0], "r")
assert f["input_ids"].dtype == np.int32 and f["input_mask"].dtype == np.int8 and f["input_ids"].shape[1] == 64
assert f["masked_lm_positions"].shape[1] == 10 and f["next_sentence_labels"].dtype == np.int8
ids, pos, lab = f["input_ids"][()], f["masked_lm_positions"][()], f["masked_lm_ids"][()]
real = (pos > 0).sum()
rate = real / f["input_mask"][()].sum()
assert 0.13 < rate < 0.17, rate
nsp = f["next_sentence_labels"][()].mean()
assert 0.3 < nsp < 0.8, nsp
PY
[ -f "$work/a/heldout/shard_00000.h5" ] || fail "pretraining-data: no held-out shard"
ls "$work/a/train/"*.partial 2>/dev/null && fail "partial files left"

# pretraining-data over 2 MPI ranks: each rank reads a share of the files, shards are balanced
# over the job, the output is deterministic for (seed, ranks), and nothing is lost.
mpirun_cmd=(mpirun --oversubscribe --bind-to none -np 2)
[ "$(id -u)" = 0 ] && mpirun_cmd+=(--allow-run-as-root)
split -n l/3 -d --additional-suffix=.txt "$corpus" "$work/part"
parts="$work/part00.txt,$work/part01.txt,$work/part02.txt"
pargs=(--input "$parts" --vocab "$vocab" --shards 3 --max-seq-length 64 --max-predictions 10 --dupe-factor 2 --seed 7 --threads 1)
"$prep" pretraining-data "${pargs[@]}" --out "$work/m1" > "$work/m1.log" 2>&1 || fail "1-rank split run failed"
"${mpirun_cmd[@]}" "$prep" pretraining-data "${pargs[@]}" --out "$work/m2" > "$work/m2.log" 2>&1 || { cat "$work/m2.log"; fail "2-rank run failed"; }
"${mpirun_cmd[@]}" "$prep" pretraining-data "${pargs[@]}" --out "$work/m3" > "$work/m3.log" 2>&1 || fail "2-rank rerun failed"
# nothing lost: with 512-token sequences no segment is truncated, so every token of the corpus
# must appear in the shards (train + held-out)
"${mpirun_cmd[@]}" "$prep" pretraining-data --input "$parts" --vocab "$vocab" --max-seq-length 512 --max-predictions 80 \
  --short-seq-prob 0 --dupe-factor 1 --out "$work/m4" > "$work/m4.log" 2>&1 || fail "2-rank coverage run failed"
"$prep" tokenize --vocab "$vocab" < "$corpus" | tr ' ' '\n' | grep . | sort -u > "$work/corpus.ids"
grep -q "ranks        2 x 1 threads" "$work/m2.log" || fail "2-rank summary missing"
[ "$(grep -c 'pretraining-data summary' "$work/m2.log")" = 1 ] || fail "summary printed by more than one rank"
/usr/bin/python3 - "$work" <<'PY' || fail "pretraining-data over 2 ranks: shards wrong"
import h5py, numpy as np, sys, glob
w = sys.argv[1]
def load(d):
    return [h5py.File(f, "r")["input_ids"][()] for f in sorted(glob.glob(d + "/train/*.h5"))]
one, two, again = load(w + "/m1"), load(w + "/m2"), load(w + "/m3")
assert len(two) == 3, len(two)
sizes = [len(x) for x in two]
assert max(sizes) - min(sizes) <= 1, sizes                      # balanced over the whole job
for x, y in zip(two, again): assert np.array_equal(x, y)         # deterministic
n1, n2 = sum(len(x) for x in one), sum(len(x) for x in two)
assert abs(n1 - n2) <= 0.1 * n1, (n1, n2)                        # same corpus, same amount
# original ids (masked positions restored) of train + held-out = the corpus's ids + [CLS]/[SEP]
seen = set()
for f in glob.glob(w + "/m4/*/*.h5"):
    h = h5py.File(f, "r")
    ids, pos, lab = h["input_ids"][()], h["masked_lm_positions"][()], h["masked_lm_ids"][()]
    rows = np.repeat(np.arange(len(ids))[:, None], pos.shape[1], 1)
    real = pos > 0
    ids[rows[real], pos[real]] = lab[real]
    seen |= set(np.unique(ids[ids > 0]).tolist())
want = {int(x) for x in open(w + "/corpus.ids")} | {101, 102}
assert seen == want, (sorted(want - seen)[:10], sorted(seen - want)[:10])
PY
[ -f "$work/m2/heldout/shard_00000.h5" ] || fail "2 ranks: no held-out shard"

# bad input: counted per file, no crash; nothing usable -> non-zero exit
printf '' > "$work/empty.txt"
printf 'caf\xff\xfe ok line .\n\nsecond doc .\n' > "$work/bad.txt"
set +e
"$prep" pretraining-data --input "$work/empty.txt,$work/missing.txt" --vocab "$vocab" --out "$work/d" > "$work/d.log" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || fail "no usable input must fail"
grep -q "empty.txt: empty file" "$work/d.log" || fail "empty file not reported"
grep -q "missing.txt: no such file" "$work/d.log" || fail "missing file not reported"
"$prep" pretraining-data --input "$work/bad.txt,$corpus" --vocab "$vocab" --out "$work/e" --max-seq-length 64 --max-predictions 10 --dupe-factor 1 > "$work/e.log" 2>&1 \
  || fail "a bad file among good ones must not fail the run"
grep -q "bad.txt: 1 lines with invalid UTF-8" "$work/e.log" || fail "invalid UTF-8 not reported"
# --salient-spans over a corpus that marks nothing: refused, saying how spans are marked
set +e
"$prep" pretraining-data --input "$corpus" --vocab "$vocab" --out "$work/s" --max-seq-length 64 --max-predictions 10 --dupe-factor 1 --salient-spans > "$work/s.log" 2>&1
rc=$?
set -e
[ $rc = 2 ] || fail "--salient-spans without marks: exit $rc, want 2"
grep -q "no sentence of the input marks a span (U+2063" "$work/s.log" || fail "--salient-spans without marks: message"

# corpus formats: Wikipedia XML (plain, .bz2, truncated .bz2), WikiExtractor doc + JSON, BookCorpus
fx="$src/tests/text/fixtures"
bzip2 -c "$fx/wiki_dump.xml" > "$work/enwiki-pages-articles1.xml.bz2"
head -c 300 "$work/enwiki-pages-articles1.xml.bz2" > "$work/cut.xml.bz2"
small=(--vocab "$vocab" --max-seq-length 64 --max-predictions 10 --dupe-factor 1)
"$prep" pretraining-data --input "$fx/wiki_dump.xml,$work/enwiki-pages-articles1.xml.bz2,$work/cut.xml.bz2,$fx/wikiextractor_docs.txt,$fx/wikiextractor.json" \
  "${small[@]}" --out "$work/f" > "$work/f.log" 2>&1 || fail "corpus formats: run failed"
grep -q "cut.xml.bz2: truncated bz2 stream after 0 articles" "$work/f.log" || fail "truncated bz2 not reported"
grep -q "wikiextractor.json: 1 malformed records" "$work/f.log" || fail "bad JSON line not reported"
grep -q "documents    6 train + 2 held-out" "$work/f.log" || fail "corpus formats: document count"
mkdir -p "$work/books/a" "$work/books/b"
printf 'Chapter one .\n\nThe dog ran home .\n' > "$work/books/a/one.txt"
printf 'Chapter two .\n\nThe cat sat down .\n' > "$work/books/b/two.txt"
printf 'not a book\n' > "$work/books/b/notes.md"
"$prep" pretraining-data --input "$work/books" --format bookcorpus "${small[@]}" --out "$work/g" > "$work/g.log" 2>&1 \
  || fail "bookcorpus: run failed"
grep -q "documents    2 train + 0 held-out" "$work/g.log" || fail "bookcorpus: one document per book"
! grep -q "notes.md" "$work/g.log" || fail "bookcorpus: non-.txt file reported as a problem"

# LAMA JSONL (T-REx with relation templates, Google-RE, ConceptNet) -> probe records
"$prep" probes --source lama --lama-input "$fx/lama_trex_P19.jsonl,$fx/lama_googlere.jsonl,$fx/lama_conceptnet.jsonl" \
  --lama-relations "$fx/lama_relations.jsonl" --out "$work/lama" > "$work/lama.log" 2>&1 || fail "lama: run failed"
# Split by subject into the layout relmask and prompt read (DIR/{train,dev,test}/<relation>.jsonl).
in_split() { cat "$work/lama"/{train,dev,test}/"$1.jsonl" 2>/dev/null || true; }
in_split P19 | grep -qF '"masked_sentences":["Claude Monet was born in [MASK] ."]' || fail "lama: T-REx template"
in_split place_of_birth | grep -qF '"sub_label":"Peter F. Martin"' || fail "lama: Google-RE"
in_split HasSubevent | grep -qF '"obj_label":"think"' || fail "lama: ConceptNet"
[ ! -e "$work/lama/lama" ] || fail "lama: the old DIR/lama layout is still written"
/usr/bin/python3 - "$work/lama" <<'PY' || fail "lama: a subject appears in more than one split"
import glob, json, os, sys
where = {}
for path in glob.glob(os.path.join(sys.argv[1], "*", "*.jsonl")):
    split = os.path.basename(os.path.dirname(path))
    for line in open(path):
        where.setdefault(json.loads(line)["sub_label"], set()).add(split)
assert where and all(len(s) == 1 for s in where.values()), where
PY
grep -q "lama_conceptnet.jsonl: 1 malformed lines, 1 without a cloze sentence" "$work/lama.log" || fail "lama: bad lines not reported"
echo "prep_cli_test: all checks passed"
