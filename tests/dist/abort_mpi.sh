#!/usr/bin/env bash
# abort_mpi.sh PROBE: a failure on one rank outside an agreed section (what
# only a bug can cause) ends the whole job within seconds, non-zero, with that
# rank's message printed once; no rank is left waiting. Exit 77 (meson:
# skipped) without mpirun.
set -uo pipefail
command -v mpirun >/dev/null || { echo "mpirun not found: skipped"; exit 77; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
timeout 60 mpirun --allow-run-as-root --oversubscribe --mca mpi_yield_when_idle 1 -np 2 "$1" > "$log" 2>&1
rc=$? took=$((SECONDS - start))
cat "$log"
failures=0
if [[ $rc -eq 0 || $rc -eq 124 ]]; then echo "FAIL: exit $rc"; failures=1; fi
if ((took > 30)); then echo "FAIL: took $took s"; failures=1; fi
count=$(grep -c "attograd: error: rank 1 of 2: a failure only rank 1 sees" "$log")
if [[ $count -ne 1 ]]; then echo "FAIL: the message was printed $count times"; failures=1; fi
((failures == 0)) && echo "ok: the job ended in $took s with exit $rc, the message printed once"
((failures == 0))
