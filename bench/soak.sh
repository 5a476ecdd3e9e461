#!/usr/bin/env bash
# Soak benchmark (not a test, not in CI): trains the copy model with its
# default settings for 2,000 steps, evaluating and saving every 100 steps,
# and reports
#   - resident memory (VmRSS) at every 100th step: flat after warm-up if
#     nothing leaks (graph caches, storage pool, metrics, saves);
#   - the files left in the checkpoint directory (1: no temporary or lock
#     files behind);
#   - step-time drift: the mean step time of steps 101-200 against the last
#     100 steps (time per target token, from the metrics' tokens_per_s).
#
#   bench/soak.sh                    # 2,000 steps (tens of minutes on 2 idle cores)
#   bench/soak.sh --steps 200        # a short run, to see that it works
#   bench/soak.sh --out DIR --exe build/cli/attograd
#
# Writes DIR/soak.json and DIR/soak.md (default DIR:
# bench/results/soak-<date>-<time>) and prints the Markdown.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps=2000
exe="$here/build/cli/attograd"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --exe) exe="$2"; shift 2 ;;
    *) echo "usage: bench/soak.sh [--steps N] [--out DIR] [--exe PATH]" >&2; exit 2 ;;
  esac
done
if ! [[ "$steps" =~ ^[0-9]+$ ]] || [ "$steps" -lt 200 ] || [ $((steps % 100)) -ne 0 ]; then
  echo "bench/soak.sh: --steps must be a multiple of 100, at least 200 (got '$steps')" >&2
  exit 2
fi
[ -x "$exe" ] || { echo "bench/soak.sh: no program at $exe (build first, or give --exe)" >&2; exit 2; }
out="${out:-$here/bench/results/soak-$(date -u +%Y-%m-%d-%H%M)}"
mkdir -p "$out/checkpoints"
metrics="$out/metrics.jsonl"
rss="$out/rss.tsv"
rm -f "$metrics"
printf 'step\tvm_rss_kb\n' > "$rss"

"$exe" train copy --steps "$steps" --eval-every 100 --save "$out/checkpoints/copy.safetensors" \
  --metrics "$metrics" --quiet > "$out/train.log" 2>&1 &
pid=$!

# The last step the metrics file records (evaluation lines come after the step's own line).
last_step() { { tail -n 1 "$metrics" 2>/dev/null || true; } | sed -n 's/.*"step":\([0-9]*\).*/\1/p'; }

next=100
while kill -0 "$pid" 2>/dev/null; do
  step="$(last_step)"
  if [ -n "$step" ] && [ "$step" -ge "$next" ]; then
    kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
    [ -n "$kb" ] && printf '%s\t%s\n' "$step" "$kb" >> "$rss"
    next=$(( (step / 100 + 1) * 100 ))
  fi
  sleep 0.2
done
status=0
wait "$pid" || status=$?
if [ "$status" -ne 0 ]; then
  echo "bench/soak.sh: training failed (exit $status); see $out/train.log" >&2
  tail -n 5 "$out/train.log" >&2
  exit 1
fi

python3 - "$out" "$steps" <<'EOF'
import json, os, statistics, sys
out, steps = sys.argv[1], int(sys.argv[2])
records = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if l.strip()]
train = {r["step"]: r for r in records if "loss" in r}
def ms_per_1000_tokens(first, last):
    return statistics.mean(1e6 / train[s]["tokens_per_s"] for s in range(first, last + 1) if s in train)
early, late = ms_per_1000_tokens(101, 200), ms_per_1000_tokens(steps - 99, steps)
rss = [l.split("\t") for l in open(os.path.join(out, "rss.tsv")).read().split("\n")[1:] if l]
rss = [(int(s), int(kb)) for s, kb in rss]
files = sorted(os.listdir(os.path.join(out, "checkpoints")))
after_warmup = [kb for s, kb in rss if s >= 200]
report = {
    "steps": steps,
    "rss_kb_by_step": dict(rss),
    "rss_growth_after_step_200_mb": (max(after_warmup) - min(after_warmup)) / 1024 if after_warmup else None,
    "checkpoint_dir_files": files,
    "step_time_ms_per_1000_tokens": {"steps_101_200": early, f"steps_{steps - 99}_{steps}": late},
    "step_time_drift_percent": 100 * (late / early - 1),
    "final_eval_loss": [r["eval_loss"] for r in records if "eval_loss" in r][-1],
}
json.dump(report, open(os.path.join(out, "soak.json"), "w"), indent=1)
md = [f"# Soak: copy task, default settings, {steps} steps, evaluation and save every 100", "",
      "| step | VmRSS (MB) |", "|---:|---:|"]
md += [f"| {s} | {kb / 1024:.1f} |" for s, kb in rss]
growth = report["rss_growth_after_step_200_mb"]
md += ["", f"- resident memory from step 200 on: {'n/a' if growth is None else f'{growth:.1f} MB'} between lowest and highest",
       f"- files left in the checkpoint directory: {len(files)} ({', '.join(files)})",
       f"- step time (per 1000 target tokens): {early:.1f} ms over steps 101-200, {late:.1f} ms over steps "
       f"{steps - 99}-{steps}: drift {report['step_time_drift_percent']:+.1f}%",
       f"- final evaluation loss: {report['final_eval_loss']:.4f}"]
open(os.path.join(out, "soak.md"), "w").write("\n".join(md) + "\n")
print("\n".join(md))
EOF
echo "report: $out/soak.md, $out/soak.json"
