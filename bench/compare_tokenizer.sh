#!/usr/bin/env bash
# kdprune's WordPiece vs Hugging Face's Rust tokenizers (npm `tokenizers` 0.23.2, installed into
# the build tree from the npm registry) on one core, on the same ~20 MB of WordNet + GCIDE text,
# bert-base-uncased vocabulary. Checks that the first 2,000 lines give identical ids, then prints
# MB/s of each and the ratio.   bench/compare_tokenizer.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${KD_BUILD_DIR:-$root/build}"
work="$build/bench-tokenizer"
vocab=data/vocab/bert-base-uncased-vocab.txt
mkdir -p "$work"
if [ ! -d "$work/node_modules/tokenizers" ]; then
  (cd "$work" && npm install --no-audit --no-fund --silent tokenizers@0.23.2 > /dev/null)
fi
if [ ! -s "$work/text.txt" ]; then
  "$build/kdprune-prep" corpus --source wordnet,gcide --out "$work/corpus" > /dev/null 2>&1
  cat "$work"/corpus/*.txt | grep -v '^$' | head -c 20000000 > "$work/text.txt"
fi
bytes=$(stat -c %s "$work/text.txt")
# Hugging Face: one Rust thread, timing the encode calls only.
(cd "$work" && NODE_PATH="$work/node_modules" RAYON_NUM_THREADS=1 taskset -c 0 node "$root/bench/hf_tokenize.js" "$root/$vocab" text.txt 2000) > "$work/hf.json"
# kdprune: the whole `kdprune-prep tokenize` process (reading, tokenising, writing ids) on one thread.
start=$(date +%s.%N)
taskset -c 0 "$build/kdprune-prep" tokenize --vocab "$vocab" --threads 1 < "$work/text.txt" > "$work/kd_ids.txt"
end=$(date +%s.%N)
/usr/bin/python3 - "$work/hf.json" "$work/kd_ids.txt" "$bytes" "$start" "$end" <<'PY'
import json, sys
hf = json.load(open(sys.argv[1])); kd_path = sys.argv[2]; nbytes = int(sys.argv[3])
kd_s = float(sys.argv[5]) - float(sys.argv[4])
kd_lines = [l.rstrip('\n') for _, l in zip(range(len(hf["ids"])), open(kd_path))]
same = sum(a == b for a, b in zip(kd_lines, hf["ids"]))
print(f"ids identical on {same}/{len(hf['ids'])} lines")
hf_mbs = nbytes / hf["seconds"] / 1e6; kd_mbs = nbytes / kd_s / 1e6
print(f"huggingface tokenizers (Rust, 1 thread, encode only): {hf_mbs:6.1f} MB/s")
print(f"kdprune-prep tokenize (1 thread, whole process):     {kd_mbs:6.1f} MB/s")
print(f"ratio kdprune / huggingface: {kd_mbs / hf_mbs:.1f}x")
sys.exit(0 if same == len(hf["ids"]) else 1)
PY
