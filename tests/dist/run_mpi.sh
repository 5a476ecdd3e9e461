#!/usr/bin/env bash
# run_mpi.sh NP PROGRAM [ARGS...]: runs PROGRAM as NP ranks of one Open MPI
# job on this machine (more ranks than cores allowed; as root allowed, as in
# CI), ending it after 60 s. Exit 77 (meson: skipped) without mpirun.
set -euo pipefail
command -v mpirun >/dev/null || { echo "mpirun not found: skipped"; exit 77; }
np=$1
shift
exec timeout 60 mpirun --allow-run-as-root --oversubscribe --mca mpi_yield_when_idle 1 -np "$np" "$@"
