#!/usr/bin/python3
"""Independent reference for kdprune's BERT: Hugging Face BertForPreTraining semantics written
from the documented behaviour (not from transformers' source), in float64 PyTorch, with its own
minimal safetensors reader/writer (a second implementation of the format that cross-checks the
C++ one).

  reference_bert.py make  --out DIR --variant V [--seed S]
      writes DIR/config.json, DIR/model.safetensors, DIR/vocab.txt and DIR/expected.safetensors
      (inputs + reference outputs). Variants: plain, gammabeta (old LayerNorm names), bf16, f16
      (weights stored in that dtype), decoder (also stores the tied decoder weight/bias),
      bertmodel (BertModel: no `bert.` prefix, no heads), hetero (per-layer dims, a zero-head
      layer).
  reference_bert.py check --model DIR --out FILE
      reads a model directory written by kdprune with the Hugging Face layout rules (exact
      state-dict key set, HF config keys, format=pt metadata), runs the fixed inputs and writes
      the outputs to FILE (safetensors).
  reference_bert.py classify --model DIR --out FILE
      reads a BertForSequenceClassification directory written by kdprune (HF config fields and
      exact key set), runs the fixed inputs through the pooled-output classifier and HF's loss
      on fixed labels, and writes logits, loss and two gradients to FILE.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch

DT = torch.float64
ST_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
             "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32, "I8": torch.int8,
             "U8": torch.uint8, "BOOL": torch.bool}
ST_NAMES = {v: k for k, v in ST_DTYPES.items()}


# ---- minimal safetensors ------------------------------------------------------------------
def st_write(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors:
        t = t.detach().contiguous().cpu()
        if t.dtype in (torch.bfloat16, torch.float16):
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def st_read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        raw = bytearray(data[base + b:base + end])
        dt = ST_DTYPES[e["dtype"]]
        if dt in (torch.bfloat16, torch.float16):
            t = torch.frombuffer(raw, dtype=torch.int16).view(dt) if raw else torch.empty(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta


# ---- the model, from HF's documented semantics --------------------------------------------
def layer_dims(cfg):
    L, H = cfg["num_hidden_layers"], cfg["hidden_size"]
    A = cfg["num_attention_heads"]
    heads = cfg.get("layer_num_attention_heads", [A] * L)
    qk = cfg.get("layer_attention_head_size", [H // A] * L)
    v = cfg.get("layer_value_head_size", [H // A] * L)
    f = cfg.get("layer_intermediate_size", [cfg["intermediate_size"]] * L)
    return list(zip(heads, qk, v, f))


def expected_shapes(cfg):
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    s = {"bert.embeddings.word_embeddings.weight": [V, H],
         "bert.embeddings.position_embeddings.weight": [cfg["max_position_embeddings"], H],
         "bert.embeddings.token_type_embeddings.weight": [cfg["type_vocab_size"], H],
         "bert.embeddings.LayerNorm.weight": [H], "bert.embeddings.LayerNorm.bias": [H]}
    for i, (a, k, v, f) in enumerate(layer_dims(cfg)):
        p = f"bert.encoder.layer.{i}."
        for n, out, inp in (("attention.self.query", a * k, H), ("attention.self.key", a * k, H),
                            ("attention.self.value", a * v, H),
                            ("attention.output.dense", H, a * v), ("intermediate.dense", f, H),
                            ("output.dense", H, f)):
            s[p + n + ".weight"] = [out, inp]
            s[p + n + ".bias"] = [out]
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            s[p + n + ".weight"] = [H]
            s[p + n + ".bias"] = [H]
    s.update({"bert.pooler.dense.weight": [H, H], "bert.pooler.dense.bias": [H],
              "cls.predictions.transform.dense.weight": [H, H],
              "cls.predictions.transform.dense.bias": [H],
              "cls.predictions.transform.LayerNorm.weight": [H],
              "cls.predictions.transform.LayerNorm.bias": [H],
              "cls.predictions.bias": [V], "cls.seq_relationship.weight": [2, H],
              "cls.seq_relationship.bias": [2]})
    return s


def act(name, x):
    if name == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == "gelu_new":
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "relu":
        return torch.clamp(x, min=0)
    raise ValueError(name)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def run(cfg, W, ids, tt, mask):
    eps, hact = cfg["layer_norm_eps"], cfg["hidden_act"]
    lin = lambda x, n: x @ W[n + ".weight"].t() + W[n + ".bias"]
    B, T = ids.shape
    e = "bert.embeddings."
    x = W[e + "word_embeddings.weight"][ids] + W[e + "position_embeddings.weight"][:T][None] + \
        W[e + "token_type_embeddings.weight"][tt]
    x = layer_norm(x, W[e + "LayerNorm.weight"], W[e + "LayerNorm.bias"], eps)
    hidden, scores_out = [x], []
    neg = (1.0 - mask.to(DT))[:, None, None, :] * -1e30
    for i, (a, k, v, f) in enumerate(layer_dims(cfg)):
        p = f"bert.encoder.layer.{i}."
        if a > 0:
            q = lin(x, p + "attention.self.query").view(B, T, a, k).transpose(1, 2)
            kk = lin(x, p + "attention.self.key").view(B, T, a, k).transpose(1, 2)
            vv = lin(x, p + "attention.self.value").view(B, T, a, v).transpose(1, 2)
            s = q @ kk.transpose(-1, -2) / math.sqrt(k)
            scores_out.append(s)
            probs = torch.softmax(s + neg, dim=-1)
            ctx = (probs @ vv).transpose(1, 2).reshape(B, T, a * v)
        else:
            scores_out.append(torch.zeros(B, 0, T, T, dtype=DT))
            ctx = torch.zeros(B, T, 0, dtype=DT)
        h = layer_norm(lin(ctx, p + "attention.output.dense") + x,
                       W[p + "attention.output.LayerNorm.weight"],
                       W[p + "attention.output.LayerNorm.bias"], eps)
        ff = lin(act(hact, lin(h, p + "intermediate.dense")), p + "output.dense")
        x = layer_norm(ff + h, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"],
                       eps)
        hidden.append(x)
    out = {f"hidden_states.{i}": h for i, h in enumerate(hidden)}
    out.update({f"attention_scores.{i}": s for i, s in enumerate(scores_out)})
    if "cls.predictions.bias" in W:
        t = act(hact, lin(x, "cls.predictions.transform.dense"))
        t = layer_norm(t, W["cls.predictions.transform.LayerNorm.weight"],
                       W["cls.predictions.transform.LayerNorm.bias"], eps)
        out["mlm_logits"] = t @ W["bert.embeddings.word_embeddings.weight"].t() + \
            W["cls.predictions.bias"]
        pooled = torch.tanh(lin(x[:, 0], "bert.pooler.dense"))
        out["nsp_logits"] = lin(pooled, "cls.seq_relationship")
    return out


def fixed_inputs(cfg, seed=7):
    g = torch.Generator().manual_seed(seed)
    B, T = 3, 12
    ids = torch.randint(0, cfg["vocab_size"], (B, T), generator=g)
    tt = torch.zeros(B, T, dtype=torch.int64)
    tt[:, 6:] = 1
    mask = torch.ones(B, T, dtype=torch.int64)
    mask[1, 9:] = 0  # padding in two rows
    mask[2, 5:] = 0
    tt = tt * mask
    return ids, tt, mask


def base_config(variant):
    cfg = {"architectures": ["BertForPreTraining"], "model_type": "bert", "vocab_size": 120,
           "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
           "intermediate_size": 64, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
           "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 40,
           "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
           "pad_token_id": 0}
    if variant == "hetero":
        cfg.update({"num_hidden_layers": 3, "hidden_act": "gelu_new", "layer_norm_eps": 1e-5,
                    "layer_num_attention_heads": [3, 0, 5],
                    "layer_attention_head_size": [7, 8, 4],
                    "layer_value_head_size": [5, 8, 6],
                    "layer_intermediate_size": [50, 17, 64]})
    return cfg


def make(out_dir, variant, seed):
    cfg = base_config(variant)
    g = torch.Generator().manual_seed(seed)
    W = {}
    # Larger-than-init scales so attention is far from uniform and padding matters.
    for name, shape in expected_shapes(cfg).items():
        if name.endswith("LayerNorm.weight"):
            t = 1.0 + 0.2 * torch.randn(shape, generator=g, dtype=DT)
        elif name.endswith("bias"):
            t = 0.1 * torch.randn(shape, generator=g, dtype=DT)
        else:
            t = 0.3 * torch.randn(shape, generator=g, dtype=DT)
        W[name] = t
    store = {"bf16": torch.bfloat16, "f16": torch.float16}.get(variant, torch.float32)
    # The reference computes with exactly the stored (rounded) values.
    W = {n: t.to(store).to(DT) for n, t in W.items()}
    if variant == "bertmodel":
        W = {n: t for n, t in W.items() if n.startswith("bert.")}
    saved = []
    for n, t in W.items():
        sn = n
        if variant == "gammabeta":
            sn = sn.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias",
                                                                           "LayerNorm.beta")
        if variant == "bertmodel":
            sn = sn[len("bert."):]
        saved.append((sn, t.to(store)))
    if variant == "decoder":
        saved.append(("cls.predictions.decoder.weight",
                      W["bert.embeddings.word_embeddings.weight"].to(store)))
        saved.append(("cls.predictions.decoder.bias", W["cls.predictions.bias"].to(store)))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    st_write(os.path.join(out_dir, "model.safetensors"), saved, {"format": "pt"})
    with open(os.path.join(out_dir, "vocab.txt"), "w") as f:
        f.write("".join(f"[unused{i}]\n" for i in range(cfg["vocab_size"])))
    ids, tt, mask = fixed_inputs(cfg)
    out = run(cfg, W, ids, tt, mask)
    tensors = [("input_ids", ids), ("token_type_ids", tt), ("attention_mask", mask)]
    tensors += [(n, t.to(torch.float32)) for n, t in out.items()]
    st_write(os.path.join(out_dir, "expected.safetensors"), tensors)


HF_CONFIG_KEYS = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                  "intermediate_size", "hidden_act", "hidden_dropout_prob",
                  "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
                  "initializer_range", "layer_norm_eps", "pad_token_id"]


def tensor_layout_errors(W, meta, exp):
    """HF's rules for a saved state dict: format=pt metadata, exactly the expected tensor names,
    their shapes, fp32."""
    errors = []
    if meta.get("format") != "pt":
        errors.append(f"safetensors metadata format is {meta.get('format')!r}, HF needs 'pt'")
    for n in sorted(set(exp) - set(W)):
        errors.append(f"missing tensor {n}")
    for n in sorted(set(W) - set(exp)):
        errors.append(f"unexpected tensor {n}")
    for n in sorted(set(exp) & set(W)):
        if list(W[n].shape) != exp[n]:
            errors.append(f"{n}: shape {list(W[n].shape)} != {exp[n]}")
        if W[n].dtype != torch.float32:
            errors.append(f"{n}: dtype {W[n].dtype} != float32")
    return errors


def check(model_dir, out_path):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    errors = [f"config.json lacks '{k}'" for k in HF_CONFIG_KEYS if k not in cfg]
    if cfg.get("model_type") != "bert":
        errors.append("config.json model_type is not 'bert'")
    if "BertForPreTraining" not in cfg.get("architectures", []):
        errors.append("config.json architectures lacks BertForPreTraining")
    uniform = not any(k.startswith("layer_") for k in cfg)
    if uniform and cfg["hidden_size"] % cfg["num_attention_heads"]:
        errors.append("hidden_size not a multiple of num_attention_heads")
    W, meta = st_read(os.path.join(model_dir, "model.safetensors"))
    errors += tensor_layout_errors(W, meta, expected_shapes(cfg))
    if not os.path.exists(os.path.join(model_dir, "vocab.txt")):
        errors.append("vocab.txt missing")
    if errors:
        print("HF layout check failed:\n  " + "\n  ".join(errors), file=sys.stderr)
        sys.exit(3)
    W = {n: t.to(DT) for n, t in W.items()}
    ids, tt, mask = fixed_inputs(cfg)
    out = run(cfg, W, ids, tt, mask)
    tensors = [("input_ids", ids), ("token_type_ids", tt), ("attention_mask", mask)]
    tensors += [(n, t.to(torch.float32)) for n, t in out.items()]
    st_write(out_path, tensors)


def classify(model_dir, out_path):
    """HF BertForSequenceClassification: layout check (config fields, exact tensor set), then
    logits = classifier(tanh(pooler(h[:, 0]))) in float64 with HF's loss (cross-entropy, or MSE
    for problem_type regression) on fixed labels, and the loss's gradient for two tensors."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    errors = []
    if "BertForSequenceClassification" not in cfg.get("architectures", []):
        errors.append("config.json architectures lacks BertForSequenceClassification")
    n = cfg.get("num_labels")
    if not isinstance(n, int) or n < 1:
        errors.append(f"config.json num_labels is {n!r}")
    problem = cfg.get("problem_type")
    if problem not in ("regression", "single_label_classification"):
        errors.append(f"config.json problem_type is {problem!r}")
    elif (problem == "regression") != (n == 1):
        errors.append(f"problem_type {problem} with num_labels {n}")
    if len(cfg.get("id2label", {})) != n:
        errors.append("config.json id2label does not have num_labels entries")
    W, meta = st_read(os.path.join(model_dir, "model.safetensors"))
    exp = {k: v for k, v in expected_shapes(cfg).items() if not k.startswith("cls.")}
    if isinstance(n, int):
        exp["classifier.weight"] = [n, cfg["hidden_size"]]
        exp["classifier.bias"] = [n]
    errors += tensor_layout_errors(W, meta, exp)
    if errors:
        print("HF classifier layout check failed:\n  " + "\n  ".join(errors), file=sys.stderr)
        sys.exit(3)
    W = {k: t.to(DT).requires_grad_(True) for k, t in W.items()}
    ids, tt, mask = fixed_inputs(cfg)
    x = run(cfg, W, ids, tt, mask)[f"hidden_states.{len(layer_dims(cfg))}"]
    lin = lambda v, k: v @ W[k + ".weight"].t() + W[k + ".bias"]
    logits = lin(torch.tanh(lin(x[:, 0], "bert.pooler.dense")), "classifier")
    B = ids.shape[0]
    if n == 1:
        labels = torch.linspace(0.0, 5.0, B, dtype=DT)
        loss = ((logits.squeeze(1) - labels) ** 2).mean()
    else:
        labels = torch.arange(B) % n
        loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    tensors = [("input_ids", ids), ("token_type_ids", tt), ("attention_mask", mask),
               ("labels", labels.to(torch.float32) if n == 1 else labels),
               ("logits", logits.detach().to(torch.float32)),
               ("loss", loss.detach().reshape(1).to(torch.float32)),
               ("grad.classifier.weight", W["classifier.weight"].grad.to(torch.float32)),
               ("grad.bert.pooler.dense.weight", W["bert.pooler.dense.weight"].grad.to(torch.float32))]
    st_write(out_path, tensors)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--variant", default="plain",
                   choices=["plain", "gammabeta", "bf16", "f16", "decoder", "bertmodel", "hetero"])
    m.add_argument("--seed", type=int, default=1234)
    c = sub.add_parser("check")
    c.add_argument("--model", required=True)
    c.add_argument("--out", required=True)
    k = sub.add_parser("classify")
    k.add_argument("--model", required=True)
    k.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "make":
        make(a.out, a.variant, a.seed)
    elif a.cmd == "classify":
        classify(a.model, a.out)
    else:
        check(a.model, a.out)


if __name__ == "__main__":
    main()
