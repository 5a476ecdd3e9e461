#!/usr/bin/env bash
# Installs what attograd needs from Debian (only what is missing), then
# configures and builds it with meson into build/ (or $ATTOGRAD_BUILD_DIR).
#
#   scripts/setup.sh            # install missing packages, configure, build
#   scripts/setup.sh --no-build # only install packages
#
# Safe to run again: when everything is present it does no apt work at all.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${ATTOGRAD_BUILD_DIR:-$here/build}"

# Build tools and libraries (compile and link) ...
packages=(
  g++ meson ninja-build pkg-config cmake
  libxtensor-dev libxsimd-dev libopenblas-dev
  libtbb-dev libfmt-dev doctest-dev libcli11-dev nlohmann-json3-dev
  librandom123-dev
  # Data-parallel training over several processes or machines (dist/), and
  # the mpirun its tests start.
  libopenmpi-dev openmpi-bin
  # PNG output of the pictures (viz/): librsvg rasterises the SVG on cairo,
  # DejaVu is the font the drawings name first.
  librsvg2-dev libcairo2-dev fonts-dejavu-core
  # ... and tools the tests and benchmarks use: an independent checkpoint
  # reader and the PyTorch peer (python3-torch), Graphviz for DOT files.
  python3 python3-numpy python3-torch graphviz
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing missing Debian packages: ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[[ "${1:-}" == "--no-build" ]] && exit 0

if [[ ! -f "$build_dir/build.ninja" ]]; then
  meson setup "$build_dir" "$here" --buildtype=release
fi
ninja -C "$build_dir"
