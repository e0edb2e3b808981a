#!/usr/bin/env bash
# 2-rank vs 1-rank step time of kdprune pretrain at the same per-rank batch (weak scaling on one
# node; target ≤ 1.1x): the quickstart model, batch 16 per rank, 1 thread per rank bound to its
# own core. Prints both step times and the ratio.
#   bench/scaling.sh [timed_steps=20] [warmup_steps=5] [precision=bf16]
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
steps="${1:-20}"; warm="${2:-5}"; prec="${3:-bf16}"
ensure_bench_shards
tps1=$(kdprune_tokens_per_s 1 "$prec" "$steps" "$warm" "scaling-1")
tps2=$(kdprune_tokens_per_s 2 "$prec" "$steps" "$warm" "scaling-2")
# Per-rank step time = ranks x batch x T / tokens_per_s.
$py -c "import sys; a,b=map(float,sys.argv[1:]); t1=16*128/a; t2=2*16*128/b
print(f'step time ($prec, batch 16/rank): 1 rank {t1*1000:.0f} ms, 2 ranks {t2*1000:.0f} ms, ratio {t2/t1:.2f}x')" "$tps1" "$tps2"
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"
