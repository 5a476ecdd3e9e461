#!/usr/bin/python3
"""Test of report.py (meson test bench-report): a hand-made set of runs, in
the JSON lines bench/run.sh writes, goes through the report, and the tables
must say what those runs say: the attograd / PyTorch ratio and 2T / 1T of
the summary, and which 2-thread repetitions ran while the two vCPUs shared
one core (the core check before rep 2 of tiny finds 96 against 95 GFLOP/s;
rep 3 has no check and is not counted). Mixed-precision runs (setting
"bf16") get a table of their own and never count as PyTorch's f32 best.

  check_report.py bench/report.py
"""
import json
import os
import subprocess
import sys
import tempfile


def train(engine, threads, rep, tokens_per_s, setting=""):
    step = 1024 / tokens_per_s
    return {"run": {"rep": rep, "setting": setting, "loadavg": 0.5},
            "result": {"mode": "train", "engine": engine, "config": "tiny", "threads": threads,
                       "tokens_per_s": tokens_per_s, "median_s": step, "median_cpu_s": step * threads,
                       "target_tokens_per_step": 1024, "peak_rss_mib": 100.0, "rss_before_training_mib": 90.0,
                       "gflops": 50.0, "matmul_flops_per_step": 6.7e9}}


def check(rep, two_cores, setting="before:tiny:2"):
    return {"run": {"rep": rep, "setting": setting, "loadavg": 0.5},
            "result": {"mode": "peak", "supported": True, "gflops_1_core": 95.0, "gflops_2_cores": two_cores}}


def main():
    report = sys.argv[1]
    runs = [{"run": {}, "result": {"mode": "meta", "date": "2026-12-01", "cpu": "test", "cores": 2, "torch": "x"}}]
    for rep in (1, 2, 3):
        runs += [train("attograd", 1, rep, 6000.0), train("attograd", 2, rep, 12000.0),
                 train("torch-basic", 1, rep, 4000.0), train("torch-basic", 2, rep, 5000.0),
                 train("attograd", 1, rep, 9000.0, "bf16"), train("torch-basic", 1, rep, 7500.0, "bf16")]
    # Rep 1's check in the older setting without the thread count; rep 2 shares a core; rep 3 has no check.
    runs += [check(1, 190.0, "before:tiny"), check(2, 96.0)]
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = os.path.join(tmp, "raw.jsonl"), os.path.join(tmp, "out.json")
        with open(raw, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in runs)
        text = subprocess.run([sys.executable, report, raw, out, "check"], check=True, stdout=subprocess.PIPE,
                              timeout=60).stdout.decode()
        with open(out) as f:
            saved = json.load(f)
    summary = text.split("### attograd against PyTorch", 1)[1].split("###", 1)[0]
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): [c.strip() for c in line.split("|")[1:-1]]
            for line in summary.splitlines() if line.startswith("| tiny |")}
    one, two = rows[("tiny", "1")], rows[("tiny", "2")]
    failures = []
    expect = lambda what, got, want: got == want or failures.append(f"{what}: got {got!r}, want {want!r}")
    expect("1T attograd / torch", one[4], "1.50")
    expect("2T attograd / torch", two[4], "2.40")
    expect("2T / 1T", two[5], "2.00")
    expect("2T reps on one shared core", two[10], "1 of 2 checked")
    expect("1T shared-core column", one[10], "-")
    expect("core-check count line", "1 of 2 checks found the two threads below 1.6x one core." in text, True)
    expect("runs saved", len(saved["runs"]), len(runs) - 1)
    mixed = text.split("### Mixed precision", 1)[-1].split("###", 1)[0]
    bf16 = next(([c.strip() for c in line.split("|")[1:-1]] for line in mixed.splitlines()
                 if line.startswith("| tiny | 1 |")), None)
    expect("mixed-precision row", bf16 is not None, True)
    if bf16:
        expect("attograd bf16 / f32", bf16[4], "1.50")
        expect("torch autocast best", bf16[6], "7,500 (basic bf16)")
        expect("attograd bf16 / torch f32", bf16[7], "2.25")
        expect("attograd bf16 / torch autocast", bf16[8], "1.20")
    if failures:
        raise SystemExit("report.py:\n  " + "\n  ".join(failures) + "\n\n" + text)
    print("report.py: summary ratios and shared-core repetitions as the runs say")


if __name__ == "__main__":
    main()
