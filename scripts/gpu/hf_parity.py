#!/usr/bin/env python3
"""Parity of kdprune's BERT with real Hugging Face transformers (scripts/gpu-check.sh, issue 18).

Run with the Python that has torch + transformers + safetensors (the GPU host's python3).

  hf_parity.py inputs  --out IN.safetensors --vocab-size V [--seed S]
      fixed inputs: input_ids, token_type_ids, attention_mask (int64 [3, 16], two rows padded)
  hf_parity.py make-hf --out DIR --vocab VOCAB.txt [--seed S]
      a transformers-initialised BertForPreTraining (every parameter then perturbed, so biases
      and LayerNorms are not at their 0/1 init and every tensor matters), saved with
      save_pretrained (safetensors) plus vocab.txt: the directory kdprune must load
  hf_parity.py hf --model DIR --inputs IN --out OUT.safetensors [--device cpu|cuda]
      transformers' BertForPreTraining.from_pretrained(DIR) (fp32, eager attention) on IN:
      mlm_logits, nsp_logits, sequence_output; prints a JSON line with the loading report
      (missing / unexpected keys)
  hf_parity.py ref --model DIR --inputs IN --out OUT.safetensors
      the same outputs from tests/model/reference_bert.py (HF semantics written from the docs,
      float64): a third opinion, and the comparison that runs without transformers
  hf_parity.py compare A B [--tol 1e-4]
      max |A - B| per tensor (padded positions included: both compute them); prints a JSON
      line with "ok" (all below tol) and exits 0 / 1
"""
import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "model"))
import reference_bert  # noqa: E402  (float64 reference; its own safetensors reader/writer)

try:
    from safetensors.torch import load_file, save_file
except ImportError:  # e.g. Debian's python3-torch without python3-safetensors: the reference's
    def load_file(path):
        return reference_bert.st_read(path)[0]

    def save_file(tensors, path):
        reference_bert.st_write(path, list(tensors.items()))

TENSORS = ("mlm_logits", "nsp_logits", "sequence_output")


def cmd_inputs(a):
    g = torch.Generator().manual_seed(a.seed)
    B, T = 3, 16
    low = 999 if a.vocab_size > 2000 else 1  # past [unused*] and the specials in a BERT vocab
    ids = torch.randint(low, a.vocab_size, (B, T), generator=g)
    ids[:, 0] = 101  # [CLS]
    tt = torch.zeros(B, T, dtype=torch.int64)
    tt[:, 8:] = 1
    mask = torch.ones(B, T, dtype=torch.int64)
    mask[1, 11:] = 0
    mask[2, 6:] = 0
    ids = ids * mask  # [PAD] = 0 at padded positions
    save_file({"input_ids": ids, "token_type_ids": tt * mask, "attention_mask": mask}, a.out)


def cmd_make_hf(a):
    from transformers import BertConfig, BertForPreTraining
    torch.manual_seed(a.seed)
    vocab = sum(1 for _ in open(a.vocab, encoding="utf-8"))
    cfg = BertConfig(vocab_size=vocab, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=128, max_position_embeddings=64)
    model = BertForPreTraining(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():  # tied decoder = word embeddings: perturbed once
            p.add_(0.05 * torch.randn_like(p))
    model.save_pretrained(a.out, safe_serialization=True)
    shutil.copy(a.vocab, os.path.join(a.out, "vocab.txt"))
    files = sorted(os.listdir(a.out))
    print(json.dumps({"made": a.out, "files": files}))


def load_hf(model_dir):
    from transformers import BertForPreTraining
    kw = dict(output_loading_info=True, attn_implementation="eager")
    try:
        return BertForPreTraining.from_pretrained(model_dir, dtype=torch.float32, **kw)
    except TypeError:  # transformers before `dtype`
        return BertForPreTraining.from_pretrained(model_dir, torch_dtype=torch.float32, **kw)


def cmd_hf(a):
    import transformers
    model, info = load_hf(a.model)
    model = model.to(a.device).eval()
    x = {k: v.to(a.device) for k, v in load_file(a.inputs).items()}
    with torch.no_grad():
        o = model(input_ids=x["input_ids"], token_type_ids=x["token_type_ids"],
                  attention_mask=x["attention_mask"], output_hidden_states=True)
    save_file({"mlm_logits": o.prediction_logits.float().cpu().contiguous(),
               "nsp_logits": o.seq_relationship_logits.float().cpu().contiguous(),
               "sequence_output": o.hidden_states[-1].float().cpu().contiguous()}, a.out)
    # Keys HF ties or recomputes are not a loading problem (decoder = word embeddings).
    missing = [k for k in info.get("missing_keys", []) if "decoder" not in k]
    print(json.dumps({"transformers": transformers.__version__, "torch": torch.__version__,
                      "device": a.device, "missing_keys": missing,
                      "unexpected_keys": list(info.get("unexpected_keys", [])),
                      "mismatched_keys": [str(m) for m in info.get("mismatched_keys", [])]}))
    if missing or info.get("mismatched_keys"):
        sys.exit(1)


def cmd_ref(a):
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    W = {k: v.to(torch.float64) for k, v in load_file(os.path.join(a.model, "model.safetensors")).items()}
    W = {(k if k.startswith(("bert.", "cls.")) else "bert." + k): v for k, v in W.items()}
    x = load_file(a.inputs)
    o = reference_bert.run(cfg, W, x["input_ids"], x["token_type_ids"], x["attention_mask"])
    L = len(reference_bert.layer_dims(cfg))
    save_file({"mlm_logits": o["mlm_logits"].float().contiguous(),
               "nsp_logits": o["nsp_logits"].float().contiguous(),
               "sequence_output": o[f"hidden_states.{L}"].float().contiguous()}, a.out)


def cmd_compare(a):
    A, B = load_file(a.a), load_file(a.b)
    diffs = {}
    for n in TENSORS:
        if n not in A or n not in B:
            diffs[n] = None
        elif A[n].shape != B[n].shape:
            diffs[n] = f"shape {list(A[n].shape)} vs {list(B[n].shape)}"
        else:
            d = (A[n].double() - B[n].double()).abs()
            diffs[n] = float(d.max()) if not torch.isnan(d).any() else float("nan")
    ok = all(isinstance(v, float) and v < a.tol for v in diffs.values())
    scale = float(B["mlm_logits"].abs().max()) if "mlm_logits" in B else None
    print(json.dumps({"max_abs_diff": diffs, "tol": a.tol, "ok": ok, "mlm_logits_max_abs": scale}))
    sys.exit(0 if ok else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("inputs")
    p.add_argument("--out", required=True)
    p.add_argument("--vocab-size", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    p = sub.add_parser("make-hf")
    p.add_argument("--out", required=True)
    p.add_argument("--vocab", required=True)
    p.add_argument("--seed", type=int, default=1234)
    p = sub.add_parser("hf")
    p.add_argument("--model", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="cpu")
    p = sub.add_parser("ref")
    p.add_argument("--model", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("compare")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    {"inputs": cmd_inputs, "make-hf": cmd_make_hf, "hf": cmd_hf, "ref": cmd_ref,
     "compare": cmd_compare}[a.cmd](a)


if __name__ == "__main__":
    main()
