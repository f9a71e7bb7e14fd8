#!/usr/bin/env bash
# The training step against PyTorch, alternated in one session: for each thread count and batch size, ROUNDS rounds
# of `wm bench train --precision fp32`, then `--precision bf16`, then ../shared/bench/torch_reference.py (with its
# GLIBC_TUNABLES, as compare.sh runs it); then the median, range and ratio of each, as BENCHMARKS.md's table.
# Nothing else may use the cores while it runs (about 25 minutes for the default matrix at 3 rounds).
# Usage: tools/bench_vs_torch.sh WM_BINARY [ROUNDS=3] [THREADS="2 1"] [BATCHES="50 16"]
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
wm=${1:?usage: bench_vs_torch.sh WM_BINARY [ROUNDS] [THREADS] [BATCHES]}
rounds=${2:-3}
thread_counts=${3:-2 1}
batches=${4:-50 16}

echo "| | wm fp32 | wm bf16 | PyTorch fp32 | fp32 ratio | bf16 ratio |"
echo "|---|---|---|---|---|---|"
for threads in $thread_counts; do
    for batch in $batches; do
        fp32=(); bf16=(); torch=()
        for round in $(seq 1 "$rounds"); do
            for precision in fp32 bf16; do
                s=$("$wm" bench train --threads "$threads" --batch "$batch" --repeats 3 --precision "$precision" --json |
                    field s_per_step)
                if [ "$precision" = fp32 ]; then fp32+=("$s"); else bf16+=("$s"); fi
            done
            torch+=("$(GLIBC_TUNABLES=$tunables /usr/bin/python3 "$reference" --threads "$threads" --B "$batch" --L 50 \
                       --action-size 6 --repeats 3 | field train_step_s)")
            echo "round $round, B = $batch, $threads threads: wm fp32 ${fp32[-1]} s, bf16 ${bf16[-1]} s," \
                 "PyTorch ${torch[-1]} s" >&2
        done
        read -r f f_lo f_hi <<<"$(summary "${fp32[@]}")"
        read -r b b_lo b_hi <<<"$(summary "${bf16[@]}")"
        read -r t t_lo t_hi <<<"$(summary "${torch[@]}")"
        awk -v B="$batch" -v T="$threads" -v R="$rounds" -v f="$f" -v fl="$f_lo" -v fh="$f_hi" -v b="$b" -v bl="$b_lo" \
            -v bh="$b_hi" -v t="$t" -v tl="$t_lo" -v th="$t_hi" 'BEGIN {
            printf "| B = %s, %s thread%s (%s rounds) | %.3f s (%.3f-%.3f) | %.3f s (%.3f-%.3f) | %.3f s (%.3f-%.3f) | **%.2fx** | **%.2fx** |\n",
                   B, T, T == 1 ? "" : "s", R, f, fl, fh, b, bl, bh, t, tl, th, t / f, t / b }'
    done
done
