#!/bin/sh
# README.md, "Use attograd as a library", with pkg-config: this build is
# installed (meson install --destdir), then the README's commands compile
# tests/install/consumer/app.cpp and run it, with no LD_LIBRARY_PATH.
#   pkg_config.sh SRC BUILD PREFIX LIBDIR
set -eu
src=$1 build=$2 prefix=$3 libdir=$4
. "$(dirname "$0")/common.sh"
install_build "$build" "$prefix" "$libdir"
check_relocatable_pc "$build"
mkdir "$work/app" && cd "$work/app"
cp "$src/tests/install/consumer/app.cpp" .
readme_block "$src/README.md" pkg-config > use.sh
echo "--- README's commands:"; cat use.sh
env -u LD_LIBRARY_PATH sh -eu use.sh > run.log 2>&1 || { cat run.log; fail "the README's pkg-config commands"; }
check_training run.log
check_resolved_in_install ./app
