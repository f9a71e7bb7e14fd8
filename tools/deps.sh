#!/usr/bin/env bash
# Installs the Debian packages wm needs and are missing. As root it runs apt-get; otherwise it prints the one
# apt-get line to run and fails, so nothing half-builds. Usage: tools/deps.sh [build|test]
set -euo pipefail

# Building: compiler, meson + ninja, cmake (meson finds oneDNN through its cmake package), pkg-config, and the
# libraries in README.md's "Why each dependency".
packages=(gcc libc6-dev meson ninja-build pkg-config cmake libdnnl-dev libpng-dev libstb-dev libzip-dev libcairo2-dev
          libyaml-dev libcjson-dev libgif-dev libv4l-dev check
          libopenmpi-dev openmpi-bin  # optional at build (-Dmpi=auto): mpirun -np N wm train
          libmujoco-dev libosmesa6-dev)  # optional at build (-Dmujoco=auto): the dmc- environments
if [ "${1:-build}" = test ]; then
    # real peers in tests: numpy for .npz and checkpoints, torch recomputes DreamerV3's losses, ffmpeg for camera
    # frames; chromium loads the run report page as a user's browser would
    packages+=(python3-numpy python3-torch ffmpeg chromium clang libclang-rt-14-dev)  # clang + libFuzzer: tools/fuzz.sh
fi

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "wm: missing Debian packages; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "wm: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
