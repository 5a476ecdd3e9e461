#!/usr/bin/env bash
# train_mpi.sh ATTOGRAD: `mpirun -np N attograd train ... --accumulate K` must
# give one process's bits: the same checkpoint (cmp) and the same metrics but
# for tokens_per_s, for copy, numbers and lm, over shared memory and over TCP
# on loopback, with and without --shard-optimizer, with the exchange
# overlapped with backward in tiny buckets or after backward; a checkpoint
# resumes across rank counts and in and out of --shard-optimizer to the same
# bits; and each refusal ends the whole job within seconds, its message
# printed once.
# Exit 77 (meson: skipped) without mpirun.
set -uo pipefail
command -v mpirun >/dev/null || { echo "mpirun not found: skipped"; exit 77; }
exe=$(realpath "$1")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# More ranks than cores (--oversubscribe) and as root (CI), each rank on one
# thread; ranks yield the core while they wait.
mpi=(timeout 60 mpirun --allow-run-as-root --oversubscribe --mca mpi_yield_when_idle 1)
tcp=(--mca btl self,tcp --mca btl_tcp_if_include lo)
tiny=(--layers 1 --d-model 32 --heads 2 --d-ff 64 --batch 8 --clip 1 --threads 1 --quiet)
# tokens_per_s: the one field allowed to differ; exact_match: written at a run's last step only.
strip_rate() { sed 's/,"tokens_per_s":[^}]*//; s/,"exact_match":[^,}]*//' "$1"; }

# same NAME A B: checkpoints A.st, B.st byte-identical; A.jsonl, B.jsonl equal but for tokens_per_s.
same() {
  if ! cmp -s "$2.st" "$3.st"; then fail "$1: checkpoints differ ($(cmp "$2.st" "$3.st" 2>&1))"; return; fi
  if ! diff <(strip_rate "$2.jsonl") <(strip_rate "$3.jsonl") >/dev/null; then fail "$1: metrics differ"; return; fi
  [[ $(wc -l < "$2.jsonl") -ge 6 ]] || { fail "$1: too few metrics lines"; return; }
  echo "ok: $1"
}
train1() { local out=$1; shift; "$exe" train "$@" --save "$out.st" --metrics "$out.jsonl" > "$out.log" 2>&1 || fail "$out: exit $? ($(tail -n 3 "$out.log"))"; }
# trainN NP OUT [MPIRUN OPTIONS --] TRAIN ARGS...
trainN() {
  local np=$1 out=$2 opts=()
  shift 2
  if [[ " $* " == *" -- "* ]]; then while [[ $1 != -- ]]; do opts+=("$1"); shift; done; shift; fi
  "${mpi[@]}" "${opts[@]}" -np "$np" "$exe" train "$@" --save "$out.st" --metrics "$out.jsonl" > "$out.log" 2>&1 || fail "$out: exit $? ($(tail -n 5 "$out.log"))"
}

# 1. Same bits as one process. K = 6: two ranks run 3 micro-batches a step
#    each, three ranks 2: the fold order crosses ranks and rounds.
for task in copy numbers lm; do
  run=("$task" "${tiny[@]}" --steps 4 --eval-every 2 --accumulate 6)
  train1 "$task-1" "${run[@]}"
  trainN 2 "$task-2" "${run[@]}"
  same "$task: 2 ranks vs 1 process, --accumulate 6" "$task-1" "$task-2"
  trainN 3 "$task-3" "${run[@]}"
  same "$task: 3 ranks vs 1 process, --accumulate 6" "$task-1" "$task-3"
done
# The exchange overlapped with backward in buckets of one parameter or a few
# (--bucket-mb 0.001: 1 KiB), and not overlapped (--bucket-mb 0).
run=(copy "${tiny[@]}" --steps 4 --eval-every 2 --accumulate 6)
trainN 3 buckets-3 "${run[@]}" --bucket-mb 0.001
same "copy: 3 ranks, 1 KiB buckets, vs 1 process, --accumulate 6" copy-1 buckets-3
trainN 2 buckets-2 "${run[@]}" --bucket-mb 0.001 --shard-optimizer
same "copy: 2 ranks, 1 KiB buckets, --shard-optimizer, vs 1 process, --accumulate 6" copy-1 buckets-2
trainN 2 after-2 "${run[@]}" --bucket-mb 0
same "copy: 2 ranks, exchange after backward (--bucket-mb 0), vs 1 process, --accumulate 6" copy-1 after-2
# One micro-batch per rank, AdamW, TCP on loopback (the path between machines).
run=(copy "${tiny[@]}" --steps 4 --eval-every 2 --accumulate 3 --optimizer adamw)
train1 adamw-1 "${run[@]}"
trainN 3 adamw-3tcp "${tcp[@]}" -- "${run[@]}"
same "copy: 3 ranks over TCP vs 1 process, --accumulate 3, adamw" adamw-1 adamw-3tcp
grep -q "Open MPI, 3 ranks" adamw-3tcp.log || fail "the 3-rank run does not say it ran on 3 ranks"

# Sharded optimizer state (ZeRO stage 1): the same checkpoint, bit for bit,
# with Adam and AdamW, clipping and accumulation.
run=(copy "${tiny[@]}" --steps 4 --eval-every 2 --accumulate 6)
train1 zero-1 "${run[@]}" --shard-optimizer
same "copy: 1 process, --shard-optimizer (nothing to shard), vs without" copy-1 zero-1
trainN 2 zero-2 "${run[@]}" --shard-optimizer
same "copy: 2 ranks, --shard-optimizer, vs 1 process, --accumulate 6, adam" copy-1 zero-2
trainN 3 zero-3 "${run[@]}" --shard-optimizer
same "copy: 3 ranks, --shard-optimizer, vs 1 process, --accumulate 6, adam" copy-1 zero-3
for task in numbers lm; do
  trainN 2 "$task-2zero" "$task" "${tiny[@]}" --steps 4 --eval-every 2 --accumulate 6 --shard-optimizer
  same "$task: 2 ranks, --shard-optimizer, vs 1 process, --accumulate 6" "$task-1" "$task-2zero"
done
train1 adamw6-1 "${run[@]}" --optimizer adamw
trainN 2 adamw6-2 "${run[@]}" --optimizer adamw --shard-optimizer
same "copy: 2 ranks, --shard-optimizer, vs 1 process, --accumulate 6, adamw" adamw6-1 adamw6-2
trainN 3 adamw-3zero copy "${tiny[@]}" --steps 4 --eval-every 2 --accumulate 3 --optimizer adamw --shard-optimizer
same "copy: 3 ranks, --shard-optimizer, vs 1 process, --accumulate 3, adamw" adamw-1 adamw-3zero

# 2. Resume across rank counts: 2 ranks to step 2, then 1 process to step 4;
#    1 process to step 2, then 3 ranks to step 4; both as copy-1 (steps 1..4).
run=(copy "${tiny[@]}" --eval-every 2 --accumulate 6)
trainN 2 res-a "${run[@]}" --steps 2
cp res-a.st res-a2.st
"$exe" train copy --resume res-a.st --steps 4 --quiet --threads 1 --save res-a.st --metrics res-a.jsonl > res-a2.log 2>&1 || fail "resume on 1 process: $(tail -n 3 res-a2.log)"
same "2 ranks to step 2, 1 process to step 4" copy-1 res-a
train1 res-b "${run[@]}" --steps 2
cp res-b.st res-b2.st && cp res-b.jsonl res-b2.jsonl
"${mpi[@]}" -np 3 "$exe" train copy --resume res-b.st --steps 4 --quiet --threads 1 --save res-b.st --metrics res-b.jsonl > res-b2.log 2>&1 || fail "resume on 3 ranks: $(tail -n 5 res-b2.log)"
same "1 process to step 2, 3 ranks to step 4" copy-1 res-b
# ... and with --shard-optimizer on either side: its step-2 checkpoint is the
# unsharded one, and a resume continues to one process's bits.
trainN 2 res-c "${run[@]}" --steps 2 --shard-optimizer
cmp -s res-c.st res-a2.st && echo "ok: 2 ranks, --shard-optimizer, write the unsharded checkpoint" ||
  fail "the sharded step-2 checkpoint differs from the unsharded one"
"$exe" train copy --resume res-c.st --steps 4 --quiet --threads 1 --save res-c.st --metrics res-c.jsonl > res-c2.log 2>&1 || fail "resume on 1 process: $(tail -n 3 res-c2.log)"
same "2 ranks, --shard-optimizer, to step 2, 1 process to step 4" copy-1 res-c
cp res-b2.st res-d.st && cp res-b2.jsonl res-d.jsonl
"${mpi[@]}" -np 3 "$exe" train copy --resume res-d.st --steps 4 --quiet --threads 1 --shard-optimizer --save res-d.st --metrics res-d.jsonl > res-d2.log 2>&1 || fail "resume on 3 sharded ranks: $(tail -n 5 res-d2.log)"
same "1 process to step 2, 3 ranks with --shard-optimizer to step 4" copy-1 res-d

# 3. Refusals: non-zero exit within seconds, the message printed once.
# refused NAME PATTERN COMMAND...: runs COMMAND, expects exit != 0 within 30 s and PATTERN exactly once.
refused() {
  local name=$1 pattern=$2
  shift 2
  local start=$SECONDS
  "$@" > refusal.log 2>&1
  local rc=$? took=$((SECONDS - start))
  local count
  count=$(grep -c -- "$pattern" refusal.log)
  if [[ $rc -eq 0 || $rc -eq 124 ]]; then fail "$name: exit $rc"; cat refusal.log; return; fi
  if ((took > 30)); then fail "$name: took $took s"; return; fi
  if [[ $count -ne 1 ]]; then fail "$name: '$pattern' printed $count times"; cat refusal.log; return; fi
  echo "ok: $name refused in $took s"
}
refused "3 ranks, --accumulate 2" "attograd: error: \[dist\] 3 ranks cannot share 2 micro-batches a step" \
  "${mpi[@]}" -np 3 "$exe" train copy "${tiny[@]}" --steps 2 --accumulate 2
refused "ranks with different --lr" "rank 1 has train.lr = '0.5', rank 0 has '1'" \
  "${mpi[@]}" -np 1 "$exe" train copy "${tiny[@]}" --steps 2 --accumulate 2 --lr 1 : \
  -np 1 "$exe" train copy "${tiny[@]}" --steps 2 --accumulate 2 --lr 0.5
refused "ranks with and without --shard-optimizer" "rank 1 has --shard-optimizer = 'on', rank 0 has 'off'" \
  "${mpi[@]}" -np 1 "$exe" train copy "${tiny[@]}" --steps 2 --accumulate 2 : \
  -np 1 "$exe" train copy "${tiny[@]}" --steps 2 --accumulate 2 --shard-optimizer
refused "ranks with different --bucket-mb" "rank 1 has --bucket-mb = '1', rank 0 has '0'" \
  "${mpi[@]}" -np 1 "$exe" train copy "${tiny[@]}" --steps 2 --accumulate 2 : \
  -np 1 "$exe" train copy "${tiny[@]}" --steps 2 --accumulate 2 --bucket-mb 1
head -c 300 /dev/urandom > garbage.st
refused "an unreadable --resume on rank 1" "attograd: error: rank 1 of 2: " \
  "${mpi[@]}" -np 1 "$exe" train copy --resume copy-1.st --steps 6 --quiet : \
  -np 1 "$exe" train copy --resume garbage.st --steps 6 --quiet
refused "a --save directory missing on rank 0" "attograd: error: rank 0 of 2: \[train\] --save 'no/such/dir/x.st'" \
  "${mpi[@]}" -np 2 "$exe" train copy "${tiny[@]}" --steps 2 --accumulate 2 --save no/such/dir/x.st
refused "NaN with --check-numerics" "attograd: error: rank 0 of 2: \[numerics\] .* of node [0-9]* .* has NaN or Inf" \
  "${mpi[@]}" -np 2 "$exe" train copy --layers 1 --d-model 32 --heads 2 --d-ff 64 --batch 8 --threads 1 --quiet \
  --steps 8 --accumulate 2 --check-numerics \
  --optimizer sgd --lr-schedule constant --lr 1e6
# A diverging run stops every rank together (the step's loss is the job's):
# the message once, no MPI_Abort, and the checkpoint kept is a finite one.
diverging=(copy --layers 1 --d-model 32 --heads 2 --d-ff 64 --batch 8 --threads 1 --quiet --steps 30 --accumulate 2
  --optimizer sgd --lr-schedule constant --lr 1e6)
refused "a diverging run on 2 ranks" "training diverged" "${mpi[@]}" -np 2 "$exe" train "${diverging[@]}" \
  --eval-every 1 --save div.st
grep -q "MPI_ABORT" refusal.log && fail "a diverging run on 2 ranks: the job was aborted, not stopped"
grep -q "'div.st' keeps the model of step" refusal.log || fail "a diverging run on 2 ranks: no word of the checkpoint kept"
"$exe" eval copy --load div.st > div-eval.log 2>&1 || fail "the diverged run's checkpoint: $(tail -n 2 div-eval.log)"
# ... and --on-nonfinite skip skips the same steps on every rank, then stops.
refused "a diverging run on 2 ranks, --on-nonfinite skip" "the 20th skipped step in a row" \
  "${mpi[@]}" -np 2 "$exe" train "${diverging[@]}" --on-nonfinite skip --eval-every 100 --metrics skip.jsonl
skipped=$(grep -c '"skipped"' skip.jsonl 2>/dev/null)
[[ $skipped -eq 19 ]] && echo "ok: 19 skipped steps recorded" || fail "$skipped skipped steps recorded, not 19"
echo "$failures failed"
((failures == 0))
