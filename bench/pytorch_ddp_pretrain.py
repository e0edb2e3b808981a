#!/usr/bin/python3
"""PyTorch DDP (gloo) BERT pre-training (MLM + NSP): the peer kdprune's throughput is compared with.

Same model, data, batch and number of ranks as `kdprune pretrain`: a BertForPreTraining written in
plain torch.nn with Hugging Face semantics, trained on NVIDIA-layout HDF5 shards, each rank reading
rows r::w of the concatenated shards in order, DistributedDataParallel over gloo, AdamW with a
linear warm-up/decay schedule, fp32 or bf16 autocast (fp32 master weights). One command runs all
ranks (torch.multiprocessing.spawn, env:// rendezvous on 127.0.0.1), each process pinned to its
own core by default, as mpirun binds kdprune's ranks.

    /usr/bin/python3 bench/pytorch_ddp_pretrain.py --data '/tmp/shards/*.hdf5' \
        --batch-size 16 --steps 20 --warmup-steps 3 --precision bf16

On a GPU (`--device cuda`, scripts/gpu-check.sh): rank r uses GPU r, NCCL instead of gloo, CUDA
autocast, no core binding, and the default AdamW implementation of PyTorch on CUDA (foreach);
with one rank there is no DDP wrapper (kdprune's world of 1 has no all-reduce either). Step times
include the device work: each step ends with loss.item(), which waits for the GPU.

Rank 0 prints per-rank step times (lines starting with '#') and, last, one JSON line that
bench/ comparison scripts parse. Tokens are counted as batch × seq × ranks per step, i.e. padded
positions included (the work done is the same for padded and real tokens).
"""
import argparse
import contextlib
import glob
import json
import math
import os
import socket
import statistics
import sys
import time

try:
    import h5py
    import numpy as np
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel as DDP
except ImportError as e:  # the pyenv python3 on PATH has none of these
    sys.exit(f"pytorch_ddp_pretrain.py: {e}; run it with /usr/bin/python3 "
             "(Debian's python3-torch, python3-h5py, python3-numpy)")

# ---------------------------------------------------------------------------------------------
# Model: BertForPreTraining, Hugging Face semantics (module names follow transformers' BERT).
# ---------------------------------------------------------------------------------------------


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(c.max_seq, c.hidden)
        self.token_type_embeddings = nn.Embedding(2, c.hidden)
        self.LayerNorm = nn.LayerNorm(c.hidden, eps=1e-12)
        self.dropout = nn.Dropout(c.dropout)
        self.register_buffer("position_ids", torch.arange(c.max_seq).unsqueeze(0), persistent=False)

    def forward(self, input_ids, token_type_ids):  # [B, T] each -> [B, T, H]
        t = input_ids.size(1)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(self.position_ids[:, :t]) +
             self.token_type_embeddings(token_type_ids))
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.head_dim = c.heads, c.hidden // c.heads
        self.query = nn.Linear(c.hidden, c.hidden)
        self.key = nn.Linear(c.hidden, c.hidden)
        self.value = nn.Linear(c.hidden, c.hidden)
        self.dropout = nn.Dropout(c.dropout)

    def _split(self, x):  # [B, T, H] -> [B, A, T, D]
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, mask_bias):  # x [B, T, H], mask_bias [B, 1, 1, T]
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)  # [B, A, T, T]
        probs = self.dropout(F.softmax(scores + mask_bias, dim=-1))
        ctx = torch.matmul(probs, v)  # [B, A, T, D]
        b, _, t, _ = ctx.shape
        return ctx.transpose(1, 2).reshape(b, t, -1)  # [B, T, H]


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertSelfAttention(c)
        self.attention_output_dense = nn.Linear(c.hidden, c.hidden)
        self.attention_output_LayerNorm = nn.LayerNorm(c.hidden, eps=1e-12)
        self.intermediate_dense = nn.Linear(c.hidden, c.intermediate)
        self.output_dense = nn.Linear(c.intermediate, c.hidden)
        self.output_LayerNorm = nn.LayerNorm(c.hidden, eps=1e-12)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x, mask_bias):  # [B, T, H] -> [B, T, H]
        a = self.attention(x, mask_bias)
        x = self.attention_output_LayerNorm(self.dropout(self.attention_output_dense(a)) + x)
        h = F.gelu(self.intermediate_dense(x))  # erf GELU, as BERT's "gelu"
        return self.output_LayerNorm(self.dropout(self.output_dense(h)) + x)


class BertForPreTraining(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.layers = nn.ModuleList(BertLayer(c) for _ in range(c.layers))
        self.pooler = nn.Linear(c.hidden, c.hidden)
        # MLM head: transform (dense -> GELU -> LayerNorm), decoder tied to the word embeddings.
        self.mlm_transform = nn.Linear(c.hidden, c.hidden)
        self.mlm_LayerNorm = nn.LayerNorm(c.hidden, eps=1e-12)
        self.mlm_bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.nsp = nn.Linear(c.hidden, 2)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):  # BertPreTrainedModel._init_weights, initializer_range 0.02
        if isinstance(m, (nn.Linear, nn.Embedding)):
            m.weight.data.normal_(0.0, 0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                m.bias.data.zero_()
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                m.weight.data[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()

    def forward(self, input_ids, token_type_ids, attention_mask, mlm_labels, nsp_labels):
        # attention_mask [B, T] 1 = real token -> additive bias [B, 1, 1, T] (HF's extended mask).
        neg = torch.finfo(torch.float32).min
        mask_bias = (1.0 - attention_mask[:, None, None, :].float()) * neg
        x = self.embeddings(input_ids, token_type_ids)  # [B, T, H]
        for layer in self.layers:
            x = layer(x, mask_bias)
        pooled = torch.tanh(self.pooler(x[:, 0]))  # [B, H]
        # MLM only at masked positions: gather their hidden states before the head, so the
        # H×V decoder runs on M ≈ 0.15·B·T rows instead of B·T.
        labels = mlm_labels.view(-1)  # [B*T], -100 where not masked
        idx = (labels != -100).nonzero().squeeze(1)  # [M]
        h = x.reshape(-1, x.size(-1)).index_select(0, idx)  # [M, H]
        # .float(): under CPU autocast the dense output is bf16, and torch 1.13's CPU LayerNorm
        # rejects bf16 input with fp32 weights (the encoder's LayerNorms get fp32 through the
        # residual add). A no-op in fp32.
        h = self.mlm_LayerNorm(F.gelu(self.mlm_transform(h)).float())  # [M, H]
        logits = F.linear(h, self.embeddings.word_embeddings.weight, self.mlm_bias)  # [M, V]
        mlm_loss = F.cross_entropy(logits, labels.index_select(0, idx))
        nsp_loss = F.cross_entropy(self.nsp(pooled), nsp_labels)
        return mlm_loss + nsp_loss


# ---------------------------------------------------------------------------------------------
# Data: NVIDIA-layout HDF5 shards, rank r of w reads rows r::w of the concatenation, in order.
# ---------------------------------------------------------------------------------------------

FIELDS = {  # name -> (dtype, rank of the array)
    "input_ids": (np.int32, 2), "input_mask": (np.int8, 2), "segment_ids": (np.int8, 2),
    "masked_lm_positions": (np.int32, 2), "masked_lm_ids": (np.int32, 2),
    "next_sentence_labels": (np.int8, 1),
}


class RankRows:
    """Streams this rank's rows (r::w of the concatenated shards) in batches, wrapping at the end.

    One shard's share is held in memory at a time; the seconds spent reading shards are kept in
    `load_s` so that they can be reported apart from the compute step times.
    """

    def __init__(self, paths, rank, world, vocab_size, max_seq):
        self.paths, self.rank, self.world, self.vocab_size = paths, rank, world, vocab_size
        self.counts = []
        for p in paths:
            with h5py.File(p, "r") as f:
                for name, (dtype, nd) in FIELDS.items():
                    if name not in f:
                        sys.exit(f"{p}: dataset '{name}' missing; expected NVIDIA BERT layout "
                                 f"(see ../shared/METHODS.md, 'Data')")
                    d = f[name]
                    if d.ndim != nd or d.dtype != dtype:
                        sys.exit(f"{p}: dataset '{name}' is {d.dtype}{list(d.shape)}, expected "
                                 f"{np.dtype(dtype)} with {nd} dims")
                n = f["input_ids"].shape[0]
                if any(f[k].shape[0] != n for k in FIELDS):
                    sys.exit(f"{p}: datasets disagree on the number of rows")
                self.seq = f["input_ids"].shape[1]
                self.counts.append(n)
        if self.seq > max_seq:
            sys.exit(f"{paths[0]}: input_ids has {self.seq} positions > --max-seq {max_seq}")
        self.offsets = np.concatenate(([0], np.cumsum(self.counts)))
        if self.offsets[-1] <= rank:
            sys.exit(f"--data has {self.offsets[-1]} rows in all, fewer than the {world} ranks")
        self.shard, self.cache, self.pos, self.epochs, self.load_s = -1, None, 0, 0, 0.0

    def _load_next_shard(self):
        t0 = time.perf_counter()
        while True:
            self.shard += 1
            if self.shard == len(self.paths):
                self.shard, self.epochs = 0, self.epochs + 1
            start = int(self.offsets[self.shard])
            local = (self.rank - start) % self.world  # first row of this rank inside the shard
            if local < self.counts[self.shard]:
                break
        with h5py.File(self.paths[self.shard], "r") as f:
            self.cache = {k: f[k][local::self.world] for k in FIELDS}
        top = int(self.cache["input_ids"].max())
        if top >= self.vocab_size:
            sys.exit(f"{self.paths[self.shard]}: input_ids holds id {top} >= --vocab-size "
                     f"{self.vocab_size}")
        self.pos = 0
        self.load_s += time.perf_counter() - t0

    def next_batch(self, b):
        parts, need = [], b
        while need > 0:
            if self.cache is None or self.pos == len(self.cache["input_ids"]):
                self._load_next_shard()
            take = min(need, len(self.cache["input_ids"]) - self.pos)
            parts.append({k: v[self.pos:self.pos + take] for k, v in self.cache.items()})
            self.pos, need = self.pos + take, need - take
        a = {k: np.concatenate([p[k] for p in parts]) for k in FIELDS}
        # Dense MLM labels [B, T]: -100 everywhere except the masked positions (0 = padding).
        labels = np.full(a["input_ids"].shape, -100, np.int64)
        rows, cols = np.nonzero(a["masked_lm_positions"])
        labels[rows, a["masked_lm_positions"][rows, cols]] = a["masked_lm_ids"][rows, cols]
        return (torch.from_numpy(a["input_ids"].astype(np.int64)),
                torch.from_numpy(a["segment_ids"].astype(np.int64)),
                torch.from_numpy(a["input_mask"]),
                torch.from_numpy(labels),
                torch.from_numpy(a["next_sentence_labels"].astype(np.int64)))


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def bind_to_cores(rank, threads):
    """Pins this rank to `threads` cores of its own, as mpirun --bind-to core does for MPI ranks."""
    cpus = sorted(os.sched_getaffinity(0))
    mine = {cpus[(rank * threads + i) % len(cpus)] for i in range(threads)}
    os.sched_setaffinity(0, mine)
    return sorted(mine)


def worker(rank, args, port):
    cuda = args.device == "cuda"
    cores = bind_to_cores(rank, args.threads) if args.bind == "core" and not cuda else None
    torch.set_num_threads(args.threads)
    device = torch.device("cuda", rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("nccl" if cuda else "gloo", init_method="env://", rank=rank,
                            world_size=args.nproc)
    world = dist.get_world_size()

    torch.manual_seed(args.seed)  # same initial weights everywhere (DDP also broadcasts rank 0's)
    model = BertForPreTraining(args).to(device)
    if cuda and world == 1:
        ddp = model  # nothing to all-reduce
    else:
        ddp = DDP(model, bucket_cap_mb=args.bucket_cap_mb,
                  gradient_as_bucket_view=args.grad_as_bucket_view,
                  device_ids=[rank] if cuda else None)

    # BERT's recipe: no weight decay on biases and LayerNorm parameters.
    decay, no_decay = [], []
    for p in model.parameters():
        (no_decay if p.ndim == 1 else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.999), eps=1e-6,
                            # CPU: the per-tensor loop unless asked; CUDA: PyTorch's default
                            foreach=args.foreach if args.foreach is not None or cuda else False)
    total = args.warmup_steps + args.steps
    lr_warm = max(1, int(round(args.lr_warmup * total)))

    def lr_factor(s):  # linear warm-up to --lr over lr_warm steps, then linear decay to 0
        return (s + 1) / lr_warm if s < lr_warm else max(0.0, (total - s) / max(1, total - lr_warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor)

    paths = sorted(glob.glob(args.data))
    if not paths:
        sys.exit(f"--data '{args.data}' matches no file; generate shards with "
                 "bench/make_synthetic_shards.py or point it at NVIDIA-layout HDF5 shards")
    data = RankRows(paths, rank, world, args.vocab_size, args.max_seq)
    autocast = (torch.autocast(device_type=args.device, dtype=torch.bfloat16)
                if args.precision == "bf16" else contextlib.nullcontext())

    step_s, cpu_s, losses = [], [], []  # wall and process-CPU seconds per step
    dist.barrier()
    for step in range(total):
        if step == args.warmup_steps:
            dist.barrier()
            t_start, load_before = time.perf_counter(), data.load_s
        t0, c0 = time.perf_counter(), time.process_time()
        batch = [t.to(device, non_blocking=True) for t in data.next_batch(args.batch_size)]
        with autocast:
            loss = ddp(*batch)
        loss.backward()  # gradients all-reduced by DDP, overlapped with the backward pass
        if args.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        step_s.append(time.perf_counter() - t0)
        cpu_s.append(time.process_time() - c0)
    dist.barrier()
    wall = time.perf_counter() - t_start
    load_s = data.load_s - load_before

    gathered = [None] * world
    dist.all_gather_object(gathered, dict(rank=rank, cores=cores, step_s=step_s, cpu_s=cpu_s,
                                          losses=losses, load_s=load_s, wall=wall,
                                          epochs=data.epochs))
    if rank == 0:
        report(args, gathered, data.seq)
    dist.barrier()
    # Leave without tearing down DDP/gloo: in torch 1.13 ~ProcessGroupGloo joins its worker thread
    # while holding the GIL, and a worker still releasing a Python-owned tensor waits for the GIL,
    # so one rank can hang forever at exit (seen here). The results are printed by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def report(args, per_rank, seq):
    w, s0 = len(per_rank), args.warmup_steps
    for r in per_rank:
        timed = r["step_s"][s0:]
        print(f"# rank {r['rank']} cores={r['cores']} step_s median={statistics.median(timed):.4f} "
              f"min={min(timed):.4f} max={max(timed):.4f} "
              f"cpu_s median={statistics.median(r['cpu_s'][s0:]):.4f} "
              f"shard_load_s={r['load_s']:.3f} "
              f"wall_s={r['wall']:.3f} warmup_step_s={[round(t, 4) for t in r['step_s'][:s0]]}")
        print(f"# rank {r['rank']} step_s={[round(t, 4) for t in timed]}")
        print(f"# rank {r['rank']} loss={[round(l, 4) for l in r['losses']]}")
    # A step ends for everyone when the slowest rank's all-reduce completes: take the max per step.
    per_step = [max(r["step_s"][i] for r in per_rank) for i in range(s0, s0 + args.steps)]
    wall = max(r["wall"] for r in per_rank)
    tokens = args.steps * args.batch_size * seq * w  # padded positions included
    mean_loss = lambda i: sum(r["losses"][i] for r in per_rank) / w
    print(json.dumps({
        "impl": "pytorch-ddp", "precision": args.precision, "ranks": w,
        "batch_per_rank": args.batch_size, "seq": seq, "steps": args.steps,
        "tokens_per_s": round(tokens / wall, 1),
        "samples_per_s": round(args.steps * args.batch_size * w / wall, 2),
        "step_time_s_median": round(statistics.median(per_step), 5),
        # Process CPU seconds per step (all threads, rank median, max over ranks): less sensitive
        # than wall time to other jobs on a shared machine; wall ≈ CPU when the cores are free.
        "step_cpu_s_median": round(max(statistics.median(r["cpu_s"][s0:]) for r in per_rank), 5),
        "loss_first": round(mean_loss(0), 4), "loss_last": round(mean_loss(-1), 4),
        "tokens_counted": "batch*seq*ranks per step, padding included",
        "warmup_steps": s0, "wall_s": round(wall, 3), "threads_per_rank": args.threads,
        "bind": args.bind, "hidden": args.hidden, "layers": args.layers, "heads": args.heads,
        "intermediate": args.intermediate, "vocab_size": args.vocab_size, "dropout": args.dropout,
        "shard_load_s": round(max(r["load_s"] for r in per_rank), 3),
        "torch": torch.__version__, "device": args.device,
    }), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_argument_group("model")
    g.add_argument("--vocab-size", type=int, default=30522)
    g.add_argument("--hidden", type=int, default=256)
    g.add_argument("--layers", type=int, default=4)
    g.add_argument("--heads", type=int, default=4)
    g.add_argument("--intermediate", type=int, default=1024)
    g.add_argument("--max-seq", type=int, default=128, help="position embeddings (>= data's T)")
    g.add_argument("--dropout", type=float, default=0.1, help="hidden and attention dropout")
    g = ap.add_argument_group("training")
    g.add_argument("--data", required=True, help="glob of NVIDIA-layout HDF5 shards (quote it)")
    g.add_argument("--batch-size", type=int, default=16, help="per rank")
    g.add_argument("--steps", type=int, default=20, help="timed steps")
    g.add_argument("--warmup-steps", type=int, default=3, help="untimed steps before the timing")
    g.add_argument("--lr", type=float, default=1e-4)
    g.add_argument("--lr-warmup", type=float, default=0.1,
                   help="fraction of all steps with linear LR warm-up, then linear decay to 0")
    g.add_argument("--weight-decay", type=float, default=0.01)
    g.add_argument("--max-grad-norm", type=float, default=0.0, help="0 = no clipping")
    g.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16 = CPU autocast around forward+loss, fp32 master weights")
    g.add_argument("--seed", type=int, default=12345)
    g.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: rank r on GPU r, NCCL, CUDA autocast")
    g = ap.add_argument_group("parallelism")
    g.add_argument("--nproc", type=int, default=2, help="ranks, all spawned by this command")
    g.add_argument("--threads", type=int, default=1, help="torch.set_num_threads per rank")
    g.add_argument("--bind", choices=["core", "none"], default="core",
                   help="core: pin rank r to its own core(s) (as mpirun's --bind-to core)")
    g.add_argument("--bucket-cap-mb", type=float, default=25)
    g.add_argument("--grad-as-bucket-view", action=argparse.BooleanOptionalAction, default=True,
                   help="DDP gradient_as_bucket_view (saves a gradient copy per step)")
    g.add_argument("--foreach", action=argparse.BooleanOptionalAction, default=None,
                   help="AdamW's multi-tensor (foreach) implementation (default: off on CPU, "
                        "measured no faster there; PyTorch's default on CUDA)")
    g.add_argument("--port", type=int, default=0, help="rendezvous port (0 = pick a free one)")
    args = ap.parse_args(argv)
    if args.hidden % args.heads:
        ap.error(f"--hidden {args.hidden} is not divisible by --heads {args.heads}")
    if args.steps < 1 or args.warmup_steps < 0 or args.nproc < 1:
        ap.error("need --steps >= 1, --warmup-steps >= 0, --nproc >= 1")
    return args


def main():
    args = parse_args()
    if not glob.glob(args.data):  # checked again per rank; here for one clean message
        sys.exit(f"--data '{args.data}' matches no file; generate shards with "
                 "bench/make_synthetic_shards.py or point it at NVIDIA-layout HDF5 shards")
    # Spawned children inherit this: OpenBLAS/OpenMP size their pools from it at start-up.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    port = args.port or free_port()
    mp.spawn(worker, args=(args, port), nprocs=args.nproc, join=True)


if __name__ == "__main__":
    main()
