#!/usr/bin/env bash
# The whole Dreamer update against PyTorch, alternated in one session: ROUNDS rounds of `wm bench train
# --imagination` (the world-model step, the imagination update, and the two as one update) and of the PyTorch twins
# (../shared/bench/torch_reference.py's training step, tools/torch_imagination.py's imagination update); then the
# medians, ranges and ratios. Nothing else may use the cores while it runs.
# Usage: tools/bench_imagination_vs_torch.sh WM_BINARY [ROUNDS=3] [THREADS=2] [B=16] [L=64] [PRECISION=fp32]
set -euo pipefail
source "$(dirname "$0")/bench_common.sh"
wm=${1:?usage: bench_imagination_vs_torch.sh WM_BINARY [ROUNDS] [THREADS] [B] [L] [PRECISION]}
rounds=${2:-3}; threads=${3:-2}; batch=${4:-16}; length=${5:-64}; precision=${6:-fp32}
wm_model=(); wm_imagine=(); wm_update=(); of_sgemm=(); pt_model=(); pt_imagine=()
for round in $(seq 1 "$rounds"); do
    out=$("$wm" bench train --imagination --threads "$threads" --batch "$batch" --length "$length" --repeats 3 \
          --precision "$precision" --json)
    wm_model+=("$(echo "$out" | grep '"world_model"' | field s_per_step)")
    wm_imagine+=("$(echo "$out" | grep '"imagination"' | field s_per_update)")
    wm_update+=("$(echo "$out" | grep '"update"' | field s_per_update)")
    of_sgemm+=("$(echo "$out" | grep '"update"' | field of_sgemm)")
    pt_model+=("$(GLIBC_TUNABLES=$tunables /usr/bin/python3 "$reference" --threads "$threads" --B "$batch" \
                  --L "$length" --action-size 6 --repeats 3 | field train_step_s)")
    pt_imagine+=("$(GLIBC_TUNABLES=$tunables /usr/bin/python3 "$(dirname "$0")/torch_imagination.py" --threads "$threads" \
                    --B "$batch" --L "$length" --action-size 6 --repeats 3 | field imagine_update_s)")
    echo "round $round: wm world model ${wm_model[-1]} s, imagination ${wm_imagine[-1]} s, update ${wm_update[-1]} s" \
         "(${of_sgemm[-1]} of sgemm) | PyTorch world model ${pt_model[-1]} s, imagination ${pt_imagine[-1]} s" >&2
done
read -r m m_lo m_hi <<<"$(summary "${wm_model[@]}")"
read -r i i_lo i_hi <<<"$(summary "${wm_imagine[@]}")"
read -r u u_lo u_hi <<<"$(summary "${wm_update[@]}")"
read -r s s_lo s_hi <<<"$(summary "${of_sgemm[@]}")"
read -r pm pm_lo pm_hi <<<"$(summary "${pt_model[@]}")"
read -r pi pi_lo pi_hi <<<"$(summary "${pt_imagine[@]}")"
echo "| B = $batch, L = $length, $threads threads, $precision ($rounds rounds) | wm | PyTorch | ratio |"
echo "|---|---|---|---|"
awk -v m="$m" -v ml="$m_lo" -v mh="$m_hi" -v pm="$pm" -v pml="$pm_lo" -v pmh="$pm_hi" \
    -v i="$i" -v il="$i_lo" -v ih="$i_hi" -v pi="$pi" -v pil="$pi_lo" -v pih="$pi_hi" \
    -v u="$u" -v ul="$u_lo" -v uh="$u_hi" -v s="$s" 'BEGIN {
    printf "| world-model step | %.3f s (%.3f-%.3f) | %.3f s (%.3f-%.3f) | **%.2fx** |\n", m, ml, mh, pm, pml, pmh, pm / m
    printf "| imagination update | %.3f s (%.3f-%.3f) | %.3f s (%.3f-%.3f) | **%.2fx** |\n", i, il, ih, pi, pil, pih, pi / i
    printf "| the update | %.3f s (%.3f-%.3f), %.0f%% of sgemm | %.3f s | **%.2fx** |\n", u, ul, uh, 100 * s, pm + pi, (pm + pi) / u }'
