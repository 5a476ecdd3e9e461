#!/usr/bin/env bash
# Runs a libFuzzer target with ASan + UBSan for a given time:
#
#   scripts/fuzz.sh TARGET SECONDS     # e.g. scripts/fuzz.sh metrics 600 (10 minutes)
#
# TARGET is one file attograd reads:
#   safetensors   a checkpoint: header, tensor table, data, and the checks before loading
#   metadata      a checkpoint's metadata ("key=value" lines) -> the run's configuration
#   eval_data     an `eval --data` file: copy/numbers examples, lm text
#   metrics       a metrics file, read and drawn as `attograd plot` does
#   plugin_stamp  a plugin's ABI stamp and dlopen error, as the loader checks them
#
# Configures its own clang build in build-fuzz/ (the normal build is not
# touched), seeds the corpus fuzz/corpus/TARGET from real files the first
# time (tiny trained checkpoints, their metrics, the plugins the tests
# build), and exits non-zero if the fuzzer found a crash; crashing inputs
# land in fuzz/crashes/TARGET-*. The last lines of libFuzzer's output give
# the executions (#N) and the corpus size (corp: N/...).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:?usage: scripts/fuzz.sh TARGET SECONDS}"
seconds="${2:-60}"
case "$target" in
  safetensors|metadata|eval_data|metrics|plugin_stamp) ;;
  *) echo "scripts/fuzz.sh: unknown target '$target' (safetensors, metadata, eval_data, metrics, plugin_stamp)" >&2; exit 2 ;;
esac
build="$here/build-fuzz"
if [ ! -d "$build" ]; then
  CC=clang CXX=clang++ meson setup "$build" "$here" --buildtype=debugoptimized -Db_lundef=false \
    -Dcpp_args='-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined' \
    -Dcpp_link_args='-fsanitize=address,undefined' -Dfuzz=true
fi
plugins=(examples/plugins/swiglu/libswiglu.so)
for kind in wrong_abi wrong_compiler no_register debug_containers newer_engine; do
  plugins+=("tests/engine/plugins/libbroken_$kind.so")
done
corpus="$here/fuzz/corpus/$target"
mkdir -p "$corpus" "$here/fuzz/crashes"
seeding=()  # what making the seeds needs, built only when the corpus is empty
if [ -z "$(ls -A "$corpus")" ]; then
  case "$target" in
    plugin_stamp) seeding=(tests/fuzz/plugin_seeds "${plugins[@]}") ;;
    eval_data) ;;
    *) seeding=(cli/attograd) ;;
  esac
fi
ninja -C "$build" "tests/fuzz/fuzz_$target" "${seeding[@]}"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=0

attograd() { "$build/cli/attograd" "$@"; }
tiny=(--layers 1 --d-model 8 --heads 2 --d-ff 8 --quiet --threads 1)

# Prints a checkpoint's metadata as "key=value" lines (fuzz_metadata's input).
metadata_lines() {
  python3 - "$1" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    for k, v in sorted(json.loads(f.read(n))["__metadata__"].items()):
        print(f"{k}={v}")
EOF
}

seed() {
  local dir="$1" scratch
  scratch="$(mktemp -d)"
  case "$target" in
    safetensors)
      attograd train copy "${tiny[@]}" --steps 2 --save "$dir/copy.safetensors" > /dev/null ;;
    metadata)
      attograd train copy "${tiny[@]}" --steps 2 --save "$scratch/copy.safetensors" > /dev/null
      attograd train numbers "${tiny[@]}" --steps 1 --lr-schedule cosine --warmup 0 --optimizer sgd --save "$scratch/numbers.safetensors" > /dev/null
      attograd train lm "${tiny[@]}" --steps 1 --batch 2 --save "$scratch/lm.safetensors" > /dev/null
      for t in copy numbers lm; do metadata_lines "$scratch/$t.safetensors" > "$dir/$t.txt"; done ;;
    eval_data)
      printf '1 2 3 4 5 6 7 8 9 10\t1 2 3 4 5 6 7 8 9 10\n1 5 5 2\t1 5 5 2\n' > "$dir/copy.tsv"
      printf '42\tforty two\n1234\tone thousand two hundred thirty four\n0\tzero\n' > "$dir/numbers.tsv"
      head -c 2000 /usr/share/common-licenses/GPL-3 > "$dir/lm.txt" ;;
    metrics)
      attograd train copy "${tiny[@]}" --steps 6 --eval-every 3 --save "$scratch/run.safetensors" \
        --metrics "$dir/run.jsonl" > /dev/null
      attograd train copy "${tiny[@]}" --steps 9 --eval-every 3 --resume "$scratch/run.safetensors" \
        --metrics "$dir/run.jsonl" > /dev/null
      printf '{"step": 1, "skipped": "the loss was NaN or Inf", "lr": 0.001}\n{"step": 2, "loss": 2.5}\n' > "$dir/skipped.jsonl" ;;
    plugin_stamp)
      (cd "$build" && tests/fuzz/plugin_seeds "$dir" "${plugins[@]}") ;;
  esac
  rm -rf "$scratch"
}

[ -n "$(ls -A "$corpus")" ] || seed "$corpus"
"$build/tests/fuzz/fuzz_$target" "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -artifact_prefix="$here/fuzz/crashes/$target-"
