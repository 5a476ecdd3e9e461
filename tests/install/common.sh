# Shared by the tests/install scripts (sourced): a scratch directory, this
# build installed into it, and README.md's instructions for using it.

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM   # a timeout's SIGTERM removes it too

# fail MESSAGE...: prints it and exits non-zero.
fail() { echo "FAIL: $*" >&2; exit 1; }

# run LOG COMMAND...: runs the command with its output in LOG, shown on failure.
run() {
  local log=$1; shift
  "$@" > "$log" 2>&1 || { cat "$log"; fail "$* (log above)"; }
}

# install_build BUILD PREFIX LIBDIR: `meson install --destdir` of BUILD into
# $work/destdir; sets root (the installed prefix) and lib (its libdir).
install_build() {
  run "$work/install.log" meson install -C "$1" --no-rebuild --destdir "$work/destdir"
  root=$work/destdir$2
  case $3 in /*) lib=$work/destdir$3 ;; *) lib=$root/$3 ;; esac
  [ -d "$lib" ] || fail "no libdir $lib in the install"
}

# check_relocatable_pc BUILD: attograd.pc finds the install from its own
# place, so that the --destdir copy works. meson.build asks for that
# (pkgconfig.relocatable=true), but a default option reaches only build
# directories set up since; older ones write the prefix into the .pc files.
check_relocatable_pc() {
  grep -q '^prefix=${pcfiledir}' "$lib/pkgconfig/attograd.pc" ||
    fail "attograd.pc is not relocatable: $1 was set up before meson.build asked for it;" \
         "run: meson configure $1 -Dpkgconfig.relocatable=true"
}

# readme_block README NAME: the fenced code block that follows the line
# "<!-- tests/install: NAME -->" in README, with the README's install
# prefix ($HOME/.local) and libdir replaced by this test's.
readme_block() {
  awk -v mark="<!-- tests/install: $2 -->" '
    $0 == mark { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$1" |
    sed -e "s|\$HOME/.local/lib/x86_64-linux-gnu|${lib:-}|g" -e "s|\$HOME/.local|${root:-}|g" > "$work/block"
  [ -s "$work/block" ] || fail "README has no block after <!-- tests/install: $2 -->"
  cat "$work/block"
}

# check_resolved_in_install PROGRAM: every libattograd_* it loads comes from
# the install ($lib), found with no LD_LIBRARY_PATH.
check_resolved_in_install() {
  env -u LD_LIBRARY_PATH ldd "$1" > "$work/ldd.txt" || fail "ldd $1"
  grep -q 'libattograd_' "$work/ldd.txt" || fail "$1 loads no attograd library"
  lib_real=$(realpath "$lib")
  grep 'libattograd_' "$work/ldd.txt" | while read -r line; do
    path=$(echo "$line" | awk '{ print $3 }')
    case $(realpath -m "$path") in "$lib_real"/*) ;; *) echo "$line" ;; esac
  done > "$work/outside.txt"
  [ ! -s "$work/outside.txt" ] || { cat "$work/outside.txt"; fail "$1 does not load these from the install $lib"; }
}

# check_training LOG: the consumer's loss (lines "step N loss L") must fall
# below a quarter of the first.
check_training() {
  cat "$1"
  awk '/^step/ { if (first == "") first = $4; last = $4 }
       END { exit !(first != "" && last < first / 4) }' "$1" || fail "the loss did not fall to a quarter"
}
