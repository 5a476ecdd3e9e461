#!/usr/bin/env bash
# Does bf16 mixed precision train as well as f32? Trains each task with its
# defaults in both precisions and prints a Markdown table of the results:
#
#   bench/bf16_accuracy.sh                       # copy seeds 1-5, numbers seeds 1-2, lm seed 1
#   bench/bf16_accuracy.sh --copy-seeds "1 2" --numbers-seeds "" --lm-seeds ""
#   bench/bf16_accuracy.sh --precisions bf16     # only the bf16 runs (f32 results are exact: reuse them)
#
# Every run's checkpoint, metrics and output land in runs/bf16_accuracy/
# (a run whose checkpoint is there already is not trained again), and the
# curves of each task are drawn side by side with `attograd plot`. Results
# are exact (the same bits on any machine with the same build), so this
# measures accuracy, not speed: other load on the cores changes nothing but
# the time it takes (copy: about 70 s per f32 run on 2 idle cores; bf16 is
# emulated, and slower, without AVX-512 BF16).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$here/build/cli/attograd"
out="$here/runs/bf16_accuracy"
copy_seeds="1 2 3 4 5" numbers_seeds="1 2" lm_seeds="1" precisions="f32 bf16"
while [ $# -gt 0 ]; do
  case "$1" in
    --copy-seeds) copy_seeds="$2"; shift ;;
    --numbers-seeds) numbers_seeds="$2"; shift ;;
    --lm-seeds) lm_seeds="$2"; shift ;;
    --precisions) precisions="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bf16_accuracy.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$bin" ] || { echo "bf16_accuracy.sh: no $bin: run scripts/setup.sh first" >&2; exit 1; }
mkdir -p "$out"

# train TASK SEED PRECISION: trains unless its checkpoint exists.
train() {
  local name="$out/$1-s$2-$3"
  if [ ! -f "$name.safetensors" ]; then
    echo "training $1, seed $2, $3" >&2
    "$bin" train "$1" --seed "$2" --precision "$3" --quiet --save "$name.safetensors.part" \
      --metrics "$name.jsonl.part" > "$name.out" 2>&1 || { cat "$name.out" >&2; exit 1; }
    mv "$name.jsonl.part" "$name.jsonl"
    mv "$name.safetensors.part" "$name.safetensors"
  fi
}

# The last evaluation record of a metrics file: loss and accuracy.
last_eval() {
  python3 -c '
import json, sys
e = [r for r in map(json.loads, open(sys.argv[1])) if "eval_loss" in r][-1]
print("{:.3f} | {:.2f}%".format(e["eval_loss"], 100 * e["accuracy"]))' "$1"
}

echo "| task | seed | precision | evaluation loss | token accuracy | decoding of the task's example |"
echo "|---|---|---|---|---|---|"
for task in copy numbers lm; do
  seeds_var="${task}_seeds"
  for seed in ${!seeds_var}; do
    for precision in $precisions; do
      train "$task" "$seed" "$precision"
      name="$out/$task-s$seed-$precision"
      example="$(grep -E '^output:' "$name.out" | head -1 | cut -d: -f2- | sed 's/^ *//' | cut -c1-60 || true)"
      echo "| $task | $seed | $precision | $(last_eval "$name.jsonl") | \`$example\` |"
    done
  done
  curves=("$out/$task"-s*-*.jsonl)
  [ -f "${curves[0]}" ] && "$bin" plot "${curves[@]}" --out "$out/$task-curves.svg" --title "$task: f32 and bf16" >/dev/null
done
echo
echo "Curves: $out/<task>-curves.svg; checkpoints, metrics and output: $out/"
