#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on the built-in default.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh build
tools/build.sh build
# Until the trainer lands, the main job is the speed check of every layer against the machine's sgemm rate.
exec build/wm bench ops
