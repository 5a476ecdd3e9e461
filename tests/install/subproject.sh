#!/bin/sh
# README.md, "Use attograd as a library", as a meson subproject: a parent
# project with the README's meson.build and this source tree linked as
# subprojects/attograd builds tests/install/consumer/app.cpp and attograd
# with it (-Dtests=false -Dbench=false -Dexamples=false), then runs it.
# Compiles the libraries again: minutes, hence its own suite 'install'.
#   subproject.sh SRC
set -eu
src=$1
. "$(dirname "$0")/common.sh"
mkdir -p "$work/app/subprojects" && cd "$work/app"
ln -s "$src" subprojects/attograd
cp "$src/tests/install/consumer/app.cpp" .
readme_block "$src/README.md" meson.build > meson.build
readme_block "$src/README.md" subproject > use.sh
echo "--- README's commands:"; cat use.sh
start=$(date +%s)
env -u LD_LIBRARY_PATH sh -eu use.sh > run.log 2>&1 || { cat run.log; fail "the README's subproject commands"; }
grep -q "Dependency attograd found: YES .*(overridden)" run.log || { cat run.log; fail "dependency('attograd') did not come from the subproject"; }
grep '^step' run.log > steps.log || true
check_training steps.log
echo "configured, built and ran in $(($(date +%s) - start)) s"
