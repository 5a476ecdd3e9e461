#!/bin/sh
# README.md, "Use attograd as a library", with CMake: this build is installed
# (meson install --destdir), then the README's CMakeLists.txt and commands
# build tests/install/consumer/app.cpp with find_package(attograd CONFIG)
# and run it, with no LD_LIBRARY_PATH.
#   cmake.sh SRC BUILD PREFIX LIBDIR
set -eu
src=$1 build=$2 prefix=$3 libdir=$4
. "$(dirname "$0")/common.sh"
install_build "$build" "$prefix" "$libdir"
mkdir "$work/app" && cd "$work/app"
cp "$src/tests/install/consumer/app.cpp" .
readme_block "$src/README.md" CMakeLists.txt > CMakeLists.txt
readme_block "$src/README.md" cmake > use.sh
echo "--- README's commands:"; cat use.sh
env -u LD_LIBRARY_PATH sh -eu use.sh > run.log 2>&1 || { cat run.log; fail "the README's CMake commands"; }
check_training run.log
check_resolved_in_install build/app
