#!/bin/sh
# What `meson install` puts in a prefix, checked in a --destdir copy of this
# build: every library layer's header is installed or declared private in its
# meson.build; no installed header includes a private one; each installed
# header compiles alone with `pkg-config --cflags attograd`; the pkg-config
# files require what the headers include; the libraries carry versioned
# sonames; bin/attograd runs with no LD_LIBRARY_PATH.
#   installed_tree.sh SRC BUILD PREFIX LIBDIR INCLUDEDIR SOVERSION PRIVATE_HEADER...
#   (CXX: the compiler)
set -eu
src=$1 build=$2 prefix=$3 libdir=$4 includedir=$5 soversion=$6
shift 6
. "$(dirname "$0")/common.sh"
install_build "$build" "$prefix" "$libdir"
check_relocatable_pc "$build"
case $includedir in /*) inc=$work/destdir$includedir/attograd ;; *) inc=$root/$includedir/attograd ;; esac
layers="engine profile io train ops models dist"

# Headers: source tree = installed + private, installed ones include no private one.
src_real=$(realpath "$src")
for p in "$@"; do
  case $p in /*) ;; *) p=$build/$p ;; esac   # meson gives paths relative to the build
  p=$(realpath "$p"); echo "${p#"$src_real"/}"
done | sort > "$work/private"
(cd "$inc" && find . -name '*.hpp' | sed 's|^\./||' | sort) > "$work/installed"
(cd "$src" && for l in $layers; do ls "$l"/*.hpp; done | sort) > "$work/source"
[ -s "$work/installed" ] || fail "no header installed under $inc"
sort "$work/installed" "$work/private" > "$work/classified"
comm -23 "$work/source" "$work/classified" | sed 's/^/neither installed nor private: /' > "$work/problems"
comm -12 "$work/installed" "$work/private" | sed 's/^/installed but listed as private: /' >> "$work/problems"
comm -13 "$work/source" "$work/installed" | sed 's/^/installed but not in the source tree: /' >> "$work/problems"
while read -r h; do
  sed -n 's/^#include "\(.*\)".*/\1/p' "$inc/$h" | while read -r dep; do
    grep -qx "$dep" "$work/installed" || echo "installed $h includes $dep, which is not installed"
  done
done < "$work/installed" >> "$work/problems"
if [ -s "$work/problems" ]; then
  cat "$work/problems" >&2
  fail "header install (lists in each layer's meson.build: <layer>_headers, <layer>_private_headers)"
fi
echo "$(wc -l < "$work/installed") headers installed, $(wc -l < "$work/private") private"

# pkg-config: attograd.pc requires (directly or through attograd-engine.pc)
# every package whose headers an installed header includes;
# attograd-engine.pc every one the engine's headers include.
export PKG_CONFIG_PATH="$lib/pkgconfig"
requires_closure() {
  todo=$1 seen=""
  while set -- $todo && [ $# -gt 0 ]; do
    next=$1; shift; todo="$*"
    case " $seen " in *" $next "*) continue ;; esac
    seen="$seen $next"
    todo="$todo $(pkg-config --print-requires "$next" | awk '{print $1}' | tr '\n' ' ')"
  done
  echo "$seen"
}
all_requires=$(requires_closure attograd)
engine_requires=$(requires_closure attograd-engine)
while read -r h; do
  sed -n 's/^#include <\([a-z0-9_]*\)\/.*/\1/p' "$inc/$h" | sort -u | while read -r dir; do
    case $dir in
      xtensor | xtl | xsimd) pc=$dir ;;
      fmt) pc=fmt ;;
      tbb | oneapi) pc=tbb ;;
      nlohmann) pc=nlohmann_json ;;
      *) echo "installed $h includes <$dir/...>: tests/install/installed_tree.sh knows no pkg-config name for it"; continue ;;
    esac
    case " $all_requires " in *" $pc "*) ;; *) echo "installed $h includes <$dir/...> but attograd.pc does not require $pc" ;; esac
    case $h in engine/*)
      case " $engine_requires " in *" $pc "*) ;; *) echo "installed $h includes <$dir/...> but attograd-engine.pc does not require $pc" ;; esac
    esac
  done
done < "$work/installed" > "$work/problems"
if [ -s "$work/problems" ]; then cat "$work/problems" >&2; fail "pkg-config requirements"; fi
echo "attograd.pc requires:$all_requires"

# Each installed header alone, with the flags attograd.pc gives (two at a time).
cflags=$(pkg-config --cflags attograd)
export CXX cflags
if ! sed 's|.*|#include "&"|' "$work/installed" | tr '\n' '\0' |
    xargs -0 -P2 -I{} sh -c 'echo "$1" | $CXX -std=c++20 -fsyntax-only $cflags -x c++ - 2>&1 || { echo "FAIL: $1 alone"; exit 1; }' sh {}; then
  fail "an installed header does not compile alone (above)"
fi
echo "every installed header compiles alone"

# Versioned sonames, and the program finds the libraries by itself.
for l in $layers; do
  so=$lib/libattograd_$l.so.$soversion
  [ -e "$so" ] || fail "no $so"
  readelf -d "$so" | grep -q "(SONAME).*\[libattograd_$l.so.$soversion\]" || fail "$so has no soname libattograd_$l.so.$soversion"
done
echo "sonames libattograd_*.so.$soversion"
check_resolved_in_install "$root/bin/attograd"
env -u LD_LIBRARY_PATH "$root/bin/attograd" ops > "$work/ops.txt" 2>&1 || { cat "$work/ops.txt"; fail "installed bin/attograd ops"; }
grep -qw matmul "$work/ops.txt" || { cat "$work/ops.txt"; fail "installed bin/attograd ops lists no matmul"; }
echo "bin/attograd runs from the install"
