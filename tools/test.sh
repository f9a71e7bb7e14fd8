#!/usr/bin/env bash
# The README's second command (and CI's): install what is missing, build, and run the whole suite twice: an
# optimised build, then AddressSanitizer + UndefinedBehaviorSanitizer, then each libFuzzer target for a short
# time. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh test

echo "== release build: meson test"
tools/build.sh build
meson test -C build --print-errorlogs --verbose

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build: meson test"
# -fno-sanitize-recover turns every UBSan report into a failure instead of a line in a log.
tools/build.sh build-san -Dbuildtype=debugoptimized -Db_sanitize=address,undefined \
    -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-san --print-errorlogs --verbose --timeout-multiplier 4

echo "== libFuzzer targets (clang, ASan + UBSan), 10 s each; a long run is tools/fuzz.sh 900"
tools/fuzz.sh 10
