#!/usr/bin/env bash
# Runs a libFuzzer target with ASan + UBSan for a given time:
#
#   scripts/fuzz.sh safetensors 600      # 10 minutes; crashes land in fuzz/crashes/
#
# Configures its own clang build in build-fuzz/ (the normal build is not
# touched), seeds the corpus fuzz/corpus/TARGET from a tiny trained
# checkpoint, and exits non-zero if the fuzzer found a crash.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:?usage: scripts/fuzz.sh TARGET SECONDS}"
seconds="${2:-60}"
build="$here/build-fuzz"
if [ ! -d "$build" ]; then
  CC=clang CXX=clang++ meson setup "$build" "$here" --buildtype=debugoptimized -Db_lundef=false \
    -Dcpp_args='-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined' \
    -Dcpp_link_args='-fsanitize=address,undefined' -Dfuzz=true
fi
ninja -C "$build" "tests/fuzz/fuzz_$target" cli/attograd
corpus="$here/fuzz/corpus/$target"
mkdir -p "$corpus" "$here/fuzz/crashes"
if [ -z "$(ls -A "$corpus")" ]; then
  "$build/cli/attograd" train copy --layers 1 --d-model 8 --heads 2 --d-ff 8 --steps 2 --quiet --threads 1 \
    --save "$corpus/copy.safetensors" > /dev/null
fi
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=0
"$build/tests/fuzz/fuzz_$target" "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -artifact_prefix="$here/fuzz/crashes/$target-"
