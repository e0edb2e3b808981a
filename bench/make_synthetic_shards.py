#!/usr/bin/python3
"""Writes random pre-training shards in NVIDIA's BERT HDF5 layout, for benchmarks and smoke runs.

Layout (see ../shared/METHODS.md, "Data"): gzip-compressed datasets per shard
  input_ids int32 [N,T], input_mask int8 [N,T], segment_ids int8 [N,T],
  masked_lm_positions int32 [N,P] (0 = padding), masked_lm_ids int32 [N,P],
  next_sentence_labels int8 [N].
Tokens are Zipf-distributed over the non-special ids, so an MLM model has something to learn
(its loss falls towards the unigram entropy); NSP labels are random. About 10% of instances are
shorter than T (padded), masking is 15% of the real tokens (80% [MASK] / 10% random / 10% kept),
capped at P, with positions sorted as in create_pretraining_data.py.

    /usr/bin/python3 bench/make_synthetic_shards.py --out /tmp/shards --shards 2 --rows 512
"""
import argparse
import os
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    sys.exit("make_synthetic_shards.py: needs h5py and numpy; run it with /usr/bin/python3")

CLS, SEP, MASK = 101, 102, 103
FIRST_WORD = 1000  # ids below are [PAD]/[unusedN]/specials in the BERT uncased vocab


def make_shard(rng, n, seq, max_pred, vocab, short_prob):
    ids = np.zeros((n, seq), np.int32)
    mask = np.zeros((n, seq), np.int8)
    seg = np.zeros((n, seq), np.int8)
    mpos = np.zeros((n, max_pred), np.int32)
    mids = np.zeros((n, max_pred), np.int32)
    nsp = rng.integers(0, 2, size=n).astype(np.int8)
    n_words = vocab - FIRST_WORD
    for i in range(n):
        length = seq if rng.random() >= short_prob else int(rng.integers(seq // 4, seq))
        body = length - 3  # [CLS] A [SEP] B [SEP]
        len_a = int(rng.integers(1, body))
        words = FIRST_WORD + (rng.zipf(1.3, size=body) - 1) % n_words
        toks = np.concatenate(([CLS], words[:len_a], [SEP], words[len_a:], [SEP]))
        ids[i, :length] = toks
        mask[i, :length] = 1
        seg[i, len_a + 2:length] = 1
        cand = np.flatnonzero((toks != CLS) & (toks != SEP))
        n_pred = min(max_pred, max(1, int(round(length * 0.15))))
        pos = np.sort(rng.choice(cand, size=n_pred, replace=False))
        mpos[i, :n_pred] = pos
        mids[i, :n_pred] = toks[pos]
        r = rng.random(n_pred)
        repl = np.where(r < 0.8, MASK,
                        np.where(r < 0.9, FIRST_WORD + rng.integers(0, n_words, n_pred), toks[pos]))
        ids[i, pos] = repl
    return dict(input_ids=ids, input_mask=mask, segment_ids=seg, masked_lm_positions=mpos,
                masked_lm_ids=mids, next_sentence_labels=nsp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="directory to write shard_NNNN.hdf5 into")
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--rows", type=int, default=512, help="instances per shard")
    ap.add_argument("--max-seq", type=int, default=128)
    ap.add_argument("--max-pred", type=int, default=20)
    ap.add_argument("--vocab-size", type=int, default=30522)
    ap.add_argument("--short-prob", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=12345)
    args = ap.parse_args()
    if args.vocab_size <= FIRST_WORD + 10:
        sys.exit(f"--vocab-size must exceed {FIRST_WORD + 10} (ids below {FIRST_WORD} are special)")

    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for s in range(args.shards):
        data = make_shard(rng, args.rows, args.max_seq, args.max_pred, args.vocab_size,
                          args.short_prob)
        path = os.path.join(args.out, f"shard_{s:04d}.hdf5")
        with h5py.File(path, "w") as f:
            for name, arr in data.items():
                f.create_dataset(name, data=arr, compression="gzip")
        print(path)


if __name__ == "__main__":
    main()
