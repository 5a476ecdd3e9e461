#!/usr/bin/env bash
# Sets up (installs missing Debian packages), builds, and runs the whole test
# suite, then prints one line "N passed, N failed" counting doctest test cases
# (and each non-doctest test as one).
#
#   scripts/test.sh            # release build in build/
#   scripts/test.sh --asan     # AddressSanitizer + UBSan build in build-asan/
#   scripts/test.sh --tsan     # ThreadSanitizer build in build-tsan/: executor tests
#                              # on the std::thread backend (TSan misreports Debian's TBB)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

mode="${1:-release}"
case "$mode" in
  release) build_dir="$here/build"; setup_args=(--buildtype=release) ;;
  --asan) build_dir="$here/build-asan"; setup_args=(--buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false) ;;
  --tsan) build_dir="$here/build-tsan"; setup_args=(--buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false) ;;
  *) echo "usage: scripts/test.sh [--asan|--tsan]" >&2; exit 2 ;;
esac

"$here/scripts/setup.sh" --no-build
[[ -f "$build_dir/build.ninja" ]] || meson setup "$build_dir" "$here" "${setup_args[@]}"
ninja -C "$build_dir"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$here/scripts/lsan.supp}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
suite_args=()
if [[ "$mode" == "--tsan" ]]; then
  export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}"
  suite_args=(--suite tsan)
fi

status=0
meson test -C "$build_dir" --print-errorlogs --num-processes 2 "${suite_args[@]}" || status=$?

# Count test cases from the log: doctest prints
#   [doctest] test cases: 20 | 20 passed | 0 failed | 0 skipped
# and meson marks each test OK / FAIL; a non-doctest test counts as one.
python3 - "$build_dir/meson-logs/testlog.json" <<'PY'
import json, re, sys
passed = failed = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    m = re.search(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed", t.get("stdout", ""))
    ok = t["result"] in ("OK", "EXPECTEDFAIL", "SKIP")
    if m:
        passed += int(m.group(2)); failed += int(m.group(3))
        if not ok and int(m.group(3)) == 0: failed += 1   # crashed or timed out after its summary
    elif ok:
        passed += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
