#!/usr/bin/env bash
# The quickstart's dataset, shared by quickstart.sh and pessimism.sh: 60 random-policy cartpole-swingup episodes
# (seed 5), recorded once into runs/episodes/cartpole (under a temporary name, then renamed, so an interrupted
# recording is never mistaken for the dataset). Prints the directory; wm collect's own output goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
episodes=runs/episodes/cartpole
if [ ! -d "$episodes" ]; then
    build/wm collect --env cartpole-swingup --episodes 60 --seed 5 --out "$episodes.tmp" >&2
    mv "$episodes.tmp" "$episodes"
fi
echo "$episodes"
