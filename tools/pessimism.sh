#!/usr/bin/env bash
# Does pessimism work? Trains configs/cartpole-ensemble.yaml twice on the quickstart's recorded episodes (an ensemble
# of 5 prior heads with the actor; once with actor.variance_penalty 0, once with 1), the two runs side by side on one
# thread each, then evaluates 5 episodes each: random shooting, CEM at plan.variance_penalty 0, 0.1, 1 and 10, MPPI and
# both actors. Prints one line per planner; the runs stay in runs/pessimism-*. Run again, it resumes or reuses them.
# Usage: tools/pessimism.sh [EPISODES]   (on the 2-core Intel Xeon: 87 and 100 minutes of training side by side, then
# about 75 of evaluation: a CEM evaluation over the 5 heads takes 13 minutes, shooting 1.5, an actor seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
episodes_per_setting=${1:-5}
tools/build.sh build >/dev/null
data=$(tools/quickstart_episodes.sh)  # the quickstart's 60 random-policy episodes
train() {  # RUN PENALTY
    build/wm train --config configs/cartpole-ensemble.yaml --run "$1" --data "$data" --threads 1 \
        --set actor.variance_penalty="$2" > "$1.log" 2>&1
}
train runs/pessimism-plain 0 & plain=$!
train runs/pessimism-penalised 1 & penalised=$!
wait $plain || { echo "pessimism: training runs/pessimism-plain failed (runs/pessimism-plain.log)" >&2; exit 1; }
wait $penalised || { echo "pessimism: training runs/pessimism-penalised failed (runs/pessimism-penalised.log)" >&2; exit 1; }

evaluate() {  # LABEL RUN ARGS...
    local label=$1 run=$2; shift 2
    local line
    line=$(build/wm eval --run "$run" --env cartpole-swingup --episodes "$episodes_per_setting" --threads 2 "$@" | tail -1)
    printf '%-42s %s\n' "$label" "$line"
}
evaluate "random shooting" runs/pessimism-plain --planner shooting --set plan.variance_penalty=0
for penalty in 0 0.1 1 10; do
    evaluate "CEM, plan.variance_penalty $penalty" runs/pessimism-plain --planner cem --set plan.variance_penalty=$penalty
done
evaluate "MPPI, plan.variance_penalty 0" runs/pessimism-plain --planner mppi --set plan.variance_penalty=0
evaluate "actor, actor.variance_penalty 0" runs/pessimism-plain --planner actor
evaluate "actor, actor.variance_penalty 1" runs/pessimism-penalised --planner actor
