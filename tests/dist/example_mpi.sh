#!/usr/bin/env bash
# example_mpi.sh EXAMPLE: examples/data_parallel prints the same losses and
# weight bits alone, as 2 ranks and as 4 ranks, with and without
# --shard-optimizer. Exit 77 without mpirun.
set -uo pipefail
command -v mpirun >/dev/null || { echo "mpirun not found: skipped"; exit 77; }
exe=$1
mpi=(timeout 60 mpirun --allow-run-as-root --oversubscribe --mca mpi_yield_when_idle 1)
# Drops the " on N ranks" naming the communicator: the rest must be equal.
one=$("$exe" | sed 's/ on .*, expected/, expected/') || { echo "FAIL: alone"; exit 1; }
status=0
for run in "2" "4" "2 --shard-optimizer" "4 --shard-optimizer"; do
  read -r np shard <<< "$run"
  got=$("${mpi[@]}" -np "$np" "$exe" $shard | sed 's/ on .*, expected/, expected/')
  if [[ "$got" == "$one" && -n "$one" ]]; then echo "ok: $np ranks $shard print one process's bits"; else
    echo "FAIL: $np ranks $shard"; diff <(echo "$one") <(echo "$got"); status=1; fi
done
exit $status
