#!/usr/bin/python3
"""Smoke test of the benchmark programs (meson tests bench-smoke and
bench-torch-smoke): each mode runs on the tiny configuration for a step or
two and must print one JSON object holding its fields (--profile: its text
tables). Timings are never checked here: they belong to the benchmark, not
to tests.

  check_json.py attograd build/bench/attograd_bench
  check_json.py torch bench/torch_transformer.py     (exit 77 = skipped without torch)
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_transformer import matmul_flops_per_step  # noqa: E402  (imports no torch)

TRAIN_FIELDS = ["mode", "engine", "config", "model", "threads", "step_times_s", "median_s", "min_s", "max_s",
                "cpu_times_s", "median_cpu_s", "target_tokens_per_step", "tokens_per_s", "peak_rss_mib",
                "rss_before_training_mib", "parameters", "matmul_flops_per_step", "gflops", "first_loss",
                "last_loss"]


def run_json(command):
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, timeout=100).stdout.decode()
    lines = out.strip().splitlines()
    if len(lines) != 1:
        raise SystemExit(f"{command}: expected one line of JSON, got {len(lines)} lines")
    return json.loads(lines[0])


def need(obj, fields, what):
    missing = [f for f in fields if f not in obj]
    if missing:
        raise SystemExit(f"{what}: missing fields {missing} in {sorted(obj)}")


def check_train(result, what, steps):
    need(result, TRAIN_FIELDS, what)
    if len(result["step_times_s"]) != steps or result["target_tokens_per_step"] != 32 * 32:
        raise SystemExit(f"{what}: {len(result['step_times_s'])} step times, "
                         f"{result['target_tokens_per_step']} target tokens per step")
    if not result["matmul_flops_per_step"] > 0 or not result["peak_rss_mib"] > 0:
        raise SystemExit(f"{what}: flops or peak RSS not positive")


def check_attograd(exe):
    quick = ["--config", "tiny", "--threads", "2"]
    train = run_json([exe] + quick + ["--warmup-steps", "1", "--steps", "2"])
    check_train(train, "train", 2)
    need(train, ["engine_peak_mib", "matmul_flops_op_cost"], "train")
    # Every matmul input of the Transformer needs a gradient, so the GEMMs
    # counted from the graph are exactly what Op::cost reports.
    if train["matmul_flops_per_step"] != train["matmul_flops_op_cost"]:
        raise SystemExit(f"train: GEMM flops {train['matmul_flops_per_step']} != Op::cost "
                         f"{train['matmul_flops_op_cost']}")
    # The PyTorch side's closed-form count describes the same products.
    if train["matmul_flops_per_step"] != matmul_flops_per_step("tiny"):
        raise SystemExit(f"train: GEMM flops {train['matmul_flops_per_step']} != the closed form "
                         f"{matmul_flops_per_step('tiny')} of torch_transformer.py")
    sgemm = run_json([exe, "--sgemm", "--config", "tiny", "--min-time", "0"])
    need(sgemm, ["gflops_1_caller", "gflops_2_callers", "matmul_flops_per_step", "shapes"], "sgemm")
    need(sgemm["shapes"][0], ["gemm", "m", "n", "k", "count", "uses_per_step", "gflops_1_caller"], "sgemm shape")
    if sgemm["matmul_flops_per_step"] != train["matmul_flops_per_step"]:
        raise SystemExit("sgemm: the shapes' flops do not add up to the training step's")
    ops = run_json([exe, "--ops"] + quick + ["--reps", "2", "--min-time", "0"])
    need(ops, ["matmul", "memory_bound"], "ops")
    need(ops["matmul"][0], ["op", "forward_s", "backward_s", "forward_gflops", "sgemm_1_caller",
                            "sgemm_2_callers"], "ops matmul")
    need(ops["memory_bound"][0], ["op", "forward_gbps", "backward_gbps", "memcpy_gbps"], "ops memory")
    need(ops, ["samples"], "ops")
    for row in ops["samples"]:
        need(row, ["op", "sample", "forward_s", "backward_s"], "ops samples")
    if len({row["op"] for row in ops["samples"]}) < 33:
        raise SystemExit("ops: the samples do not cover every built-in op")
    peak = run_json([exe, "--peak", "--min-time", "0"])
    need(peak, ["mode", "supported"], "peak")
    if peak["supported"] and not (peak["gflops_1_core"] > 0 and peak["gflops_2_cores"] > 0):
        raise SystemExit(f"peak: rates not positive: {peak}")
    profile = subprocess.run([exe, "--profile", "--config", "tiny", "--warmup-steps", "1", "--steps", "1"], check=True,
                             stdout=subprocess.PIPE, timeout=100).stdout.decode()
    for section in ["== time per op", "== time per scope ==", "== parallelism ==", "linear", "critical path"]:
        if section not in profile:
            raise SystemExit(f"--profile: no '{section}' in its output:\n{profile}")
    overhead = run_json([exe, "--overhead", "--threads", "2", "--nodes", "200", "--reps", "2"])
    need(overhead["graphs"][0], ["graph", "nodes", "tbb", "sequential"], "overhead")
    need(overhead["graphs"][0]["tbb"], ["forward_us_per_node", "backward_us_per_node"], "overhead tbb")


def check_torch(script):
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import torch"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        print("torch is not installed for /usr/bin/python3: skipped")
        sys.exit(77)
    for variant in ["basic", "nn"]:
        result = run_json(["/usr/bin/python3", script, "--config", "tiny", "--variant", variant, "--threads", "2",
                           "--warmup-steps", "1", "--steps", "2", "--omp-wait-policy", "PASSIVE"])
        check_train(result, "torch-" + variant, 2)
        need(result, ["omp_wait_policy", "torch_version"], "torch-" + variant)
        if result["omp_wait_policy"] != "PASSIVE":
            raise SystemExit("torch: --omp-wait-policy did not reach the environment")


def main():
    kind, program = sys.argv[1], sys.argv[2]
    check_attograd(program) if kind == "attograd" else check_torch(program)
    print(f"{kind}: every field present")


if __name__ == "__main__":
    main()
