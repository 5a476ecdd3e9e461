#!/bin/sh
# Follows examples/plugins/swiglu/README.md: builds the swiglu plugin in a
# fresh directory, with the README's own meson.build, against this build's
# uninstalled attograd, then trains examples/swiglu_mlp with it.
#   out_of_tree.sh <source root> <build root> <swiglu_mlp>   (CXX: the host's compiler)
set -eu
src=$1 build=$2 mlp=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$src/examples/plugins/swiglu/swiglu.cpp" .
sed -n '/^```meson$/,/^```$/p' "$src/examples/plugins/swiglu/README.md" | sed '1d;$d' > meson.build
PKG_CONFIG_PATH="$build/meson-uninstalled" meson setup out > setup.log 2>&1 || { cat setup.log; exit 1; }
ninja -C out > build.log 2>&1 || { cat build.log; exit 1; }
"$mlp" "$work/out/libswiglu.so" > run.log
cat run.log
grep -q "^loaded $work/out/libswiglu.so: " run.log
# The loss of the last step must be below a quarter of the first.
awk '/^step/ { if (first == "") first = $4; last = $4 } END { exit !(first != "" && last < first / 4) }' run.log
