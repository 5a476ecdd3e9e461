#!/usr/bin/env python3
"""Tables for bench/data_parallel.sh: data_parallel_step's JSON lines (one per
run) -> medians per configuration, the exchange against MPI_Allreduce, and a
paper model of the speed-up on N machines.

    python3 bench/data_parallel_report.py RUNS.jsonl

The model: a step of K = N*M micro-batches on N ranks, M each, costs
    T_N = M*c + (M + 1) * (N - 1)/N * 4P / B + u
(M ordered reduce-scatters and one all-gather, each moving (N-1)/N of the
4P-byte gradient per rank; c = compute per micro-batch, u = the update, B =
bandwidth per rank), and one process T_1 = N*M*c + u for the same K: the
speed-up is T_1 / T_N. Latency, the adds and load imbalance are left out.
"""
import json
import statistics
import sys


ONE = (1, 1, False, False)  # 1 rank x 1 thread: the base


def median(values):
    return statistics.median(values) if values else 0.0


def group(runs):
    groups = {}
    for r in runs:
        # Older runs have no "overlaps": their exchange always followed backward.
        key = (r["ranks"], r["threads"], r["shard_optimizer"], bool(r.get("overlaps", False)))
        groups.setdefault(key, []).append(r)
    return groups


def med(rs, field):
    return median([r[field] for r in rs if field in r])


def label(key):
    ranks, threads, shard, overlaps = key
    return f"{ranks} rank{'s' if ranks > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}" + (
        ", sharded" if shard else "") + (", overlapped" if overlaps else ", after backward" if ranks > 1 else "")


def step_table(groups):
    base = med(groups[ONE], "step_ms") if ONE in groups else None
    print("| configuration | step ms | compute | exchange | hidden behind backward | agree + wait | update | speed-up vs 1 x 1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in sorted(groups):
        rs = groups[key]
        step = med(rs, "step_ms")
        cells = [med(rs, f) for f in ("compute_ms", "exchange_ms", "hidden_ms", "agree_ms", "update_ms")]
        speed = f"{base / step:.2f}x" if base else "-"
        print(f"| {label(key)} | {step:.1f} | " + " | ".join(f"{c:.1f}" for c in cells) + f" | {speed} |")


def exchange_table(groups, parameters):
    mb = 4e-6 * parameters
    print("| ranks | buffer | ordered round (reduce-scatter + all-gather) ms | MPI_Allreduce ms | ordered / allreduce | bus bandwidth GB/s |")
    print("|---|---:|---:|---:|---:|---:|")
    bandwidth = None
    for key in sorted(groups):
        ranks = key[0]
        rs = [r for r in groups[key] if "ordered_round_ms" in r]
        if ranks < 2 or not rs or key[2] or key[3]:  # one row per rank count: the plain configuration's
            continue
        ordered, allreduce = med(rs, "ordered_round_ms"), med(rs, "allreduce_ms")
        # bus bandwidth, as NCCL counts it for an allreduce: 2 (N-1)/N of the buffer per rank.
        bandwidth = 2 * (ranks - 1) / ranks * 4 * parameters / (ordered * 1e-3) / 1e9
        print(f"| {ranks} | {mb:.1f} MB | {ordered:.1f} | {allreduce:.1f} | {ordered / allreduce:.2f} | {bandwidth:.2f} |")
    return bandwidth


def model_table(c_ms, u_ms, parameters, bandwidths):
    print(f"Inputs: compute c = {c_ms:.1f} ms per micro-batch and update u = {u_ms:.1f} ms (1 rank x 1 thread), "
          f"P = {parameters / 1e6:.1f} M parameters.")
    print()
    header = " | ".join(f"N = {n}" for n in (2, 4, 8, 16, 64))
    print(f"| bandwidth per rank | micro-batches per rank M | {header} |")
    print("|---|---:|" + "---:|" * 5)
    for name, b in bandwidths:
        for m in (1, 4):
            cells = []
            for n in (2, 4, 8, 16, 64):
                t_n = m * c_ms + (m + 1) * (n - 1) / n * 4 * parameters / (b * 1e9) * 1e3 + u_ms
                t_1 = n * m * c_ms + u_ms
                cells.append(f"{t_1 / t_n:.1f}x")
            print(f"| {name} | {m} | " + " | ".join(cells) + " |")


def main():
    runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip().startswith("{")]
    if not runs:
        sys.exit("no runs")
    groups = group(runs)
    first = runs[0]
    parameters = first["parameters"]
    print(f"## Data-parallel step: {first['task']}, {parameters / 1e6:.2f} M parameters, "
          f"--accumulate {first['accumulate']}, medians of {len(groups.get(ONE, []))} runs x "
          f"{first['steps']} steps\n")
    step_table(groups)
    print("\nExchange alone, on a buffer of the model's size:\n")
    measured = exchange_table(groups, parameters)
    if ONE in groups:
        one = groups[ONE]
        c_ms = med(one, "compute_ms") / first["accumulate"]
        u_ms = med(one, "update_ms")
        print("\nPaper model of the speed-up on N machines (same K = N*M micro-batches a step, against one process):\n")
        bandwidths = [("10 Gb/s Ethernet (1.25 GB/s)", 1.25), ("100 Gb/s InfiniBand (12.5 GB/s)", 12.5)]
        if measured:
            bandwidths.insert(0, (f"measured here ({measured:.2f} GB/s, shared memory)", measured))
        model_table(c_ms, u_ms, parameters, bandwidths)


if __name__ == "__main__":
    main()
