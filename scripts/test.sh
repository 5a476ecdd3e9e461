#!/usr/bin/env bash
# Sets up (installs missing Debian packages), builds, and runs the test suite,
# then prints one last line "N passed, N failed" (", N skipped" when a test
# was skipped) counting doctest test cases, and each non-doctest test as one.
# Exits non-zero if anything failed: a build, a test, or a crash.
#
#   scripts/test.sh              # release build in build/, every test
#   scripts/test.sh --asan       # AddressSanitizer + UBSan build in build-asan/, every test
#   scripts/test.sh --tsan       # ThreadSanitizer build in build-tsan/: suite 'tsan' only, the
#                                # executor on the std::thread backend (TSan misreports Debian's TBB)
#   scripts/test.sh release --asan   # several builds in turn; the last line sums them all
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

modes=("$@")
((${#modes[@]})) || modes=(release)
for mode in "${modes[@]}"; do
  case "$mode" in
    release | --release | --asan | --tsan) ;;
    *) echo "usage: scripts/test.sh [release] [--asan] [--tsan]" >&2; exit 2 ;;
  esac
done

if ! "$here/scripts/setup.sh" --no-build; then echo "test.sh: setup failed"; echo "0 passed, 1 failed"; exit 1; fi

# Sanitizer settings (each applies only to binaries built with that sanitizer).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$here/scripts/lsan.supp}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"

# Prints "passed failed skipped" for one meson test log. A doctest binary
# counts its test cases; one that crashed, leaked or timed out after printing
# its summary counts one more failure; one that printed no summary (crashed
# early) counts as one failure; any other test counts as one; exit 77 is a skip.
count_log() {
  python3 - "$1" <<'PY'
import json, re, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = (t.get("stdout") or "") + (t.get("stderr") or "")
    m = re.search(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped", out)
    result = t["result"]
    if result == "SKIP":
        skipped += 1
    elif m:
        passed += int(m.group(2)); failed += int(m.group(3)); skipped += int(m.group(4))
        if result not in ("OK", "EXPECTEDFAIL") and int(m.group(3)) == 0:
            failed += 1   # crashed, leaked or timed out after its summary
    elif result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    else:
        failed += 1
print(passed, failed, skipped)
PY
}

# The ninja targets (relative to the build dir) that the tests of a build,
# or of one suite (--suite NAME), need.
test_targets() {
  meson introspect "$1" --tests --targets | python3 -c '
import json, os, sys
build_dir, suite = sys.argv[1], (sys.argv[3] if len(sys.argv) > 3 else None)
info = json.load(sys.stdin)
files = {t["id"]: t["filename"] for t in info["targets"]}
for test in info["tests"]:
    if suite is None or any(s == suite or s.endswith(":" + suite) for s in test["suite"]):
        for dep in test["depends"]:
            for f in files[dep]:
                print(os.path.relpath(f, build_dir))
' "$@" | sort -u
}

total_passed=0 total_failed=0 total_skipped=0 status=0

# Builds and tests one configuration; adds its counts to the totals.
run_mode() {
  local mode="$1" build_dir setup_args suite_args=()
  case "$mode" in
    release | --release) build_dir="$here/build"; setup_args=(--buildtype=release) ;;
    --asan) build_dir="$here/build-asan"
            setup_args=(--buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false) ;;
    --tsan) build_dir="$here/build-tsan"
            setup_args=(--buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false)
            suite_args=(--suite tsan) ;;
  esac
  echo "=== test.sh $mode: $build_dir"
  if [[ ! -f "$build_dir/build.ninja" ]] && ! meson setup "$build_dir" "$here" "${setup_args[@]}"; then
    echo "test.sh $mode: meson setup failed"; total_failed=$((total_failed + 1)); status=1; return
  fi
  # Release builds everything (the CLI, examples and benchmarks must compile);
  # a sanitizer build only what its tests run. Two jobs: CI has 2 cores.
  local targets=()
  [[ "$mode" == --asan || "$mode" == --tsan ]] && mapfile -t targets < <(test_targets "$build_dir" "${suite_args[@]}")
  if ! ninja -C "$build_dir" -j2 "${targets[@]}"; then
    echo "test.sh $mode: build failed"; total_failed=$((total_failed + 1)); status=1; return
  fi
  local log="$build_dir/meson-logs/testlog.json"
  rm -f "$log"
  meson test -C "$build_dir" --no-rebuild --print-errorlogs --num-processes 2 "${suite_args[@]}" || status=1
  if [[ ! -f "$log" ]]; then
    echo "test.sh $mode: meson test ran no test"; total_failed=$((total_failed + 1)); status=1; return
  fi
  local counts p f s
  if ! counts="$(count_log "$log")"; then
    echo "test.sh $mode: cannot read $log"; total_failed=$((total_failed + 1)); status=1; return
  fi
  read -r p f s <<<"$counts"
  echo "test.sh $mode: $p passed, $f failed, $s skipped"
  total_passed=$((total_passed + p)) total_failed=$((total_failed + f)) total_skipped=$((total_skipped + s))
}

for mode in "${modes[@]}"; do run_mode "$mode"; done

((total_failed == 0)) || status=1
summary="$total_passed passed, $total_failed failed"
((total_skipped == 0)) || summary+=", $total_skipped skipped"
echo "$summary"
exit $status
