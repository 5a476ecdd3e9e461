#!/usr/bin/env bash
# The benchmark of issue 6: attograd against PyTorch on the same machine, same
# thread count, same batch and same model, then GEMM rates, single ops and
# engine overhead. Prints Markdown tables; writes every run's JSON to
# bench/results/<date>.json.
#
#   bench/run.sh                      # the default run (about 25 minutes on 2 idle cores)
#   bench/run.sh --quick              # a smoke run: 1 repetition, 2-3 steps (a few minutes)
#   bench/run.sh --reps 5 --configs "tiny copy" --threads "1 2" --precisions f32
#   bench/run.sh --load --configs copy --threads 2 --precisions f32   # also under load
#
# Every (config, threads, engine, setting) runs --reps times (default 3),
# interleaved so that load from other processes spreads over all of them;
# the tables give medians over the repetitions of each run's median step.
# PyTorch runs as torch-basic (built from basic ops) and torch-nn
# (nn.Transformer); at 2 threads each also with OMP_WAIT_POLICY=PASSIVE.
# With bf16 in --precisions (the default: "f32 bf16"), attograd also runs
# with --precision bf16 and PyTorch under torch.autocast('cpu', bfloat16).
# With --load, every multi-thread f32 run is repeated with a competing busy
# process at nice 10 pinned to the last core (setting "loaded"): a shared
# machine, the same for both engines.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
build="$repo/build"
reps=3
configs="tiny small copy base"
threads_list="1 2"
precisions="f32 bf16"
quick=0
loaded=0
python=/usr/bin/python3

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; reps=1 ;;
    --load) loaded=1 ;;
    --reps) reps="$2"; shift ;;
    --configs) configs="$2"; shift ;;
    --threads) threads_list="$2"; shift ;;
    --precisions) precisions="$2"; shift ;;
    --build) build="$2"; shift ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage 2 >&2 ;;
  esac
  shift
done

# Warm-up and timed steps per configuration (base is heavy: few steps).
steps_for() {
  if [ "$quick" = 1 ]; then
    case "$1" in base) echo "1 2" ;; *) echo "1 3" ;; esac
  else
    case "$1" in tiny) echo "2 10" ;; small) echo "2 6" ;; copy) echo "2 8" ;; base) echo "1 3" ;; esac
  fi
}
min_time=$([ "$quick" = 1 ] && echo 0.05 || echo 0.3)
op_reps=$([ "$quick" = 1 ] && echo 5 || echo 20)

if [ ! -d "$build" ]; then meson setup "$build" "$repo" --buildtype=release >/dev/null; fi
ninja -C "$build" -j2 bench/attograd_bench >/dev/null
bench="$build/bench/attograd_bench"
torch_script="$here/torch_transformer.py"
have_torch=1
"$python" -c 'import torch' 2>/dev/null || { have_torch=0; echo "run.sh: no torch for $python: attograd only" >&2; }

stamp="$(date +%Y-%m-%d-%H%M)"
mkdir -p "$here/results"
raw="$(mktemp)"
busy=""
trap 'rm -f "$raw"; [ -z "$busy" ] || kill "$busy" 2>/dev/null' EXIT

# The competing process of --load: a busy loop at nice 10 on the last core.
load_core=$(($(nproc) - 1))
start_load() {
  taskset -c "$load_core" nice -n 10 sh -c 'while :; do :; done' &
  busy=$!
  sleep 0.2
}
stop_load() { kill "$busy"; wait "$busy" 2>/dev/null || true; busy=""; }
# record, with the competing process running.
loaded_record() { start_load; record "$@"; stop_load; }

# One result line: {"run": {rep, setting, loadavg}, "result": <program output>}.
record() {
  local rep="$1" setting="$2"; shift 2
  local load out
  load="$(cut -d' ' -f1 /proc/loadavg)"
  echo "  rep $rep: $* ${setting:+($setting)}" >&2
  if out="$("$@")"; then
    printf '{"run": {"rep": %s, "setting": "%s", "loadavg": %s}, "result": %s}\n' \
      "$rep" "$setting" "$load" "$out" >>"$raw"
  else
    echo "run.sh: failed: $*" >&2
  fi
}

torch_version="$([ "$have_torch" = 1 ] && "$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none)"
printf '{"run": {}, "result": {"mode": "meta", "date": "%s", "cpu": "%s", "cores": %s, "torch": "%s", "commit": "%s"}}\n' \
  "$(date -Iseconds)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$(nproc)" \
  "$torch_version" "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" >>"$raw"

echo "the cores' FMA peak" >&2
record 1 "" "$bench" --peak --min-time "$min_time"

echo "sgemm rates on each configuration's GEMM shapes" >&2
for config in $configs; do
  record 1 "" "$bench" --sgemm --config "$config" --min-time "$min_time"
done

for rep in $(seq 1 "$reps"); do
  for config in $configs; do
    read -r warmup steps <<<"$(steps_for "$config")"
    for threads in $threads_list; do
      common=(--config "$config" --threads "$threads" --warmup-steps "$warmup" --steps "$steps")
      # Two vCPUs are not always two cores' worth of FMA units (a shared
      # host may run them on one core's two hyperthreads): a short check
      # right before each 2-thread run says what this run had.
      if [ "$threads" -gt 1 ]; then
        record "$rep" "before:$config:$threads" "$bench" --peak --min-time 0.05
      fi
      for precision in $precisions; do
        # Settings: "" for f32, "bf16" for mixed precision (report.py's is_bf16).
        setting="$([ "$precision" = bf16 ] && echo bf16 || true)"
        autocast=(--autocast "$([ "$precision" = bf16 ] && echo bf16 || echo off)")
        record "$rep" "$setting" "$bench" "${common[@]}" --precision "$precision"
        [ "$have_torch" = 1 ] || continue
        for variant in basic nn; do
          record "$rep" "$setting" env -u OMP_WAIT_POLICY "$python" "$torch_script" --variant "$variant" \
            "${common[@]}" "${autocast[@]}"
          if [ "$threads" -gt 1 ]; then
            record "$rep" "${setting:+$setting }PASSIVE" env OMP_WAIT_POLICY=PASSIVE "$python" "$torch_script" \
              --variant "$variant" "${common[@]}" "${autocast[@]}"
          fi
        done
      done
      # The same f32 runs with one core shared (--load): attograd and the
      # PyTorch variants, each with the competing process started afresh.
      if [ "$loaded" = 1 ] && [ "$threads" -gt 1 ]; then
        loaded_record "$rep" "loaded" "$bench" "${common[@]}" --precision f32
        if [ "$have_torch" = 1 ]; then
          for variant in basic nn; do
            torch=("$python" "$torch_script" --variant "$variant" "${common[@]}" --autocast off)
            loaded_record "$rep" "loaded" env -u OMP_WAIT_POLICY "${torch[@]}"
            loaded_record "$rep" "loaded PASSIVE" env OMP_WAIT_POLICY=PASSIVE "${torch[@]}"
          done
        fi
      fi
    done
  done
done

echo "the cores' FMA peak again, and single ops and engine overhead" >&2
record 2 "" "$bench" --peak --min-time "$min_time"
for threads in $threads_list; do
  record 1 "" "$bench" --ops --config small --threads "$threads" --reps "$op_reps" --min-time "$min_time"
  record 1 "" "$bench" --overhead --threads "$threads" --nodes 4000 --reps "$op_reps"
done

invocation="bench/run.sh"
[ "$quick" = 1 ] && invocation+=" --quick"
[ "$loaded" = 1 ] && invocation+=" --load"
invocation+=" (reps $reps, configs: $configs, threads: $threads_list, precisions: $precisions)"
"$python" "$here/report.py" "$raw" "$here/results/$stamp.json" "$invocation"
