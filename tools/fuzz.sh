#!/usr/bin/env bash
# The libFuzzer targets of tests/fuzz under ASan + UBSan: builds them with clang in build-fuzz, makes seed corpora
# with the project's own commands (build/wm must exist: tools/test.sh builds it first), and runs each target for
# SECONDS (default 20). Exits non-zero if a target finds a crash, a leak or undefined behaviour; what it found is
# in build-fuzz/crashes/. A long run: tools/fuzz.sh 900. Naming targets after SECONDS runs only those, so two
# shells can share the cores: tools/fuzz.sh 900 fuzz_npz fuzz_config & tools/fuzz.sh 900 fuzz_frames
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
all_targets=(fuzz_npz fuzz_png_episode fuzz_safetensors fuzz_config fuzz_frames)
targets=("${@:2}")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $target "* ]] || { echo "fuzz.sh: no target $target (${all_targets[*]})" >&2; exit 2; }
done
if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build-fuzz "${all_targets[@]/#/tests/fuzz/}" >/dev/null

corpus=build-fuzz/corpus
if [ ! -d "$corpus" ]; then
    work=$(mktemp -d)
    mkdir -p "$corpus"/{fuzz_npz,fuzz_png_episode,fuzz_safetensors,fuzz_config,fuzz_frames}
    # Episodes of two frames (action repeat 1000: one agent step), as wm collect writes them.
    build/wm collect --env cartpole-swingup --episodes 1 --action-repeat 1000 --out "$work/npz" --format npz >/dev/null
    build/wm collect --env reacher-easy --episodes 1 --action-repeat 1000 --out "$work/png" >/dev/null
    cp "$work"/npz/*.npz "$corpus/fuzz_npz/"
    episode=$(ls -d "$work"/png/episode_*/ | head -1)
    { cat "$episode/steps.csv"; printf '\377\000'; cat "$episode/frame_000000.png"; } > "$corpus/fuzz_png_episode/episode"
    # A checkpoint of a tiny model.
    build/wm train --run "$work/run" --data "$work/png" --steps 1 --threads 1 --set data.height=16 --set data.width=16 \
        --set model.depth=2 --set model.encoder_kernels=4,4 --set model.decoder_kernels=6,6 --set model.deter=8 \
        --set model.stoch=4 --set model.hidden=8 --set model.reward_units=8 --set data.batch=1 --set data.length=2 \
        2>/dev/null
    cp "$work/run/latest.safetensors" "$corpus/fuzz_safetensors/checkpoint"
    cp configs/*.yaml "$corpus/fuzz_config/"
    printf 'data.batch=32\nplan.planner=mppi\nmodel.encoder_kernels=[4,4,4,4]\n' > "$corpus/fuzz_config/sets"
    { printf '\003\003'; head -c 48 /dev/urandom; head -c 20 /dev/zero; } > "$corpus/fuzz_frames/frames"
    rm -rf "$work"
fi

mkdir -p build-fuzz/crashes
failed=0
for target in "${targets[@]}"; do
    echo "== $target, ${seconds} s"
    if ! ASAN_OPTIONS=detect_leaks=1 build-fuzz/tests/fuzz/$target -max_total_time="$seconds" -rss_limit_mb=2048 \
        -timeout=20 -artifact_prefix=build-fuzz/crashes/$target- -print_final_stats=1 "$corpus/$target" \
        2> "build-fuzz/$target.log"; then
        echo "$target: FAILED (build-fuzz/$target.log, build-fuzz/crashes/)"
        tail -30 "build-fuzz/$target.log"
        failed=1
    fi
    grep -E "stat::number_of_executed_units|cov: " "build-fuzz/$target.log" | tail -2
done
exit $failed
