#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on the built-in default:
# record 60 random-policy cartpole-swingup episodes, then train the world model on 50 of them (10 held out) with
# configs/cartpole-offline.yaml, about 26 minutes on 2 cores; then write the run's report page and say where it is.
# Running it again resumes the run where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh build
tools/build.sh build
episodes=$(tools/quickstart_episodes.sh)
run=runs/cartpole-offline
build/wm train --config configs/cartpole-offline.yaml --run "$run" --data "$episodes"
build/wm-viz report --run "$run" --out "$run/report"
echo "wm: the run is in $run; open $run/report/index.html"
