#!/usr/bin/env bash
# bench/data_parallel.sh [--reps R] [--steps S] [-- STEP FLAGS...]
#
# Where a data-parallel training step's time goes, on this machine: runs
# build/bench/data_parallel_step as 1 rank x 1 thread, 1 rank x 2 threads,
# 2 ranks x 1 thread with the exchange overlapped with backward (25 MiB
# buckets) and after backward (--bucket-mb 0, the default), and 2 ranks x 1
# thread with --shard-optimizer (overlapped), each R times (default 3), interleaved; prints Markdown tables of the medians, the
# exchange against MPI_Allreduce, and the paper model of N machines
# (bench/data_parallel_report.py). Default model: the copy task's
# (14.7 M parameters), --accumulate 2, 6 timed steps after 2 of warm-up:
# about 2 minutes on 2 idle cores. Builds nothing (ninja -C build first).
#
#   bench/data_parallel.sh
#   bench/data_parallel.sh --reps 1 --steps 2 -- --d-model 64 --layers 1 --d-ff 128 --heads 2   # a quick check
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exe=$root/build/bench/data_parallel_step
[[ -x $exe ]] || { echo "$exe not built (ninja -C build)"; exit 1; }
command -v mpirun >/dev/null || { echo "mpirun not found"; exit 1; }
reps=3 steps=6
while [[ $# -gt 0 ]]; do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown option $1"; exit 1 ;;
  esac
done
flags=(--task copy --accumulate 2 --clip 1 --steps "$steps" "$@")
# As root (containers, CI) mpirun needs --allow-run-as-root; binding each
# rank to a core is mpirun's default for 2 ranks; waiting ranks yield.
mpi=(mpirun --allow-run-as-root --mca mpi_yield_when_idle 1)
runs=$(mktemp)
trap 'rm -f "$runs"' EXIT
start=$SECONDS
for ((r = 1; r <= reps; ++r)); do
  "${mpi[@]}" -np 1 "$exe" "${flags[@]}" --threads 1 >> "$runs"
  "${mpi[@]}" -np 1 --bind-to none "$exe" "${flags[@]}" --threads 2 >> "$runs"
  "${mpi[@]}" -np 2 "$exe" "${flags[@]}" --threads 1 --bucket-mb 25 >> "$runs"
  "${mpi[@]}" -np 2 "$exe" "${flags[@]}" --threads 1 --bucket-mb 0 >> "$runs"
  "${mpi[@]}" -np 2 "$exe" "${flags[@]}" --threads 1 --bucket-mb 25 --shard-optimizer >> "$runs"
done
python3 "$root/bench/data_parallel_report.py" "$runs"
echo
echo "$reps repetitions in $((SECONDS - start)) s: bench/data_parallel.sh --reps $reps --steps $steps${*:+ -- $*}"
