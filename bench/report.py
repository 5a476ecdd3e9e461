#!/usr/bin/python3
"""Turns the runs bench/run.sh collected (one JSON object per line:
{"run": {...how it was run...}, "result": {...what the program printed...}})
into bench/results/<date>.json and Markdown tables on stdout.

  report.py RAW.jsonl OUT.json "how the run was invoked"
"""
import json
import statistics
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def med(values):
    return statistics.median(values) if values else float("nan")


def train_groups(runs):
    """(config, threads, engine, setting) -> results of its repetitions."""
    groups = defaultdict(list)
    for r in runs:
        res = r["result"]
        if res.get("mode") == "train":
            # The repetition goes along so a 2-thread result can be matched to its core check.
            groups[(res["config"], res["threads"], res["engine"], r["run"].get("setting", ""))].append(
                dict(res, rep=r["run"].get("rep")))
    return groups


def summary(results):
    """Medians over repetitions of each run's own median-based numbers."""
    tps = [r["tokens_per_s"] for r in results]
    return {
        "tokens_per_s": med(tps), "tokens_per_s_min": min(tps), "tokens_per_s_max": max(tps),
        "step_s": med([r["median_s"] for r in results]),
        "cpu_s": med([r["median_cpu_s"] for r in results]),
        "tokens_per_cpu_s": med([r["target_tokens_per_step"] / r["median_cpu_s"] for r in results]),
        "peak_rss_mib": med([r["peak_rss_mib"] for r in results]),
        "rss_growth_mib": med([r["peak_rss_mib"] - r["rss_before_training_mib"] for r in results]),
        "gflops": med([r["gflops"] for r in results]),
        "reps": len(results),
    }


def fmt(x, digits=0):
    return "-" if x is None or x != x else f"{x:,.{digits}f}"


def print_runs(groups):
    print("### Every run (medians over repetitions; spread = min..max tokens/s over repetitions)\n")
    print("| config | threads | engine | setting | tokens/s | spread | s/step | CPU s/step | tokens per CPU-s "
          "| peak RSS MiB | RSS growth in training MiB | GFLOP/s | reps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(groups):
        s = summary(groups[key])
        print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3] or '-'} | {fmt(s['tokens_per_s'])} "
              f"| {fmt(s['tokens_per_s_min'])}..{fmt(s['tokens_per_s_max'])} | {fmt(s['step_s'], 3)} "
              f"| {fmt(s['cpu_s'], 3)} | {fmt(s['tokens_per_cpu_s'])} | {fmt(s['peak_rss_mib'])} | {fmt(s['rss_growth_mib'])} "
              f"| {fmt(s['gflops'], 1)} | {s['reps']} |")
    print()


def is_bf16(setting):
    """Mixed-precision runs have a setting starting with "bf16" (attograd
    --precision bf16, PyTorch --autocast bf16); every other run is f32."""
    return setting.split(" ")[0] == "bf16"


def is_loaded(setting):
    """Runs beside a competing busy process (bench/run.sh --load) have the
    word "loaded" in their setting."""
    return "loaded" in setting.split(" ")


def torch_runs(groups, config, threads, bf16=False, loaded=False):
    """PyTorch's summaries at (config, threads), each with its variant and
    setting: its f32 runs, or with bf16 its autocast runs; quiet runs, or
    with loaded those beside the competing process."""
    return [(summary(v), f"{k[2][6:]}{' ' + k[3] if k[3] else ''}") for k, v in groups.items()
            if k[0] == config and k[1] == threads and k[2].startswith("torch") and is_bf16(k[3]) == bf16
            and is_loaded(k[3]) == loaded]


def best_of(runs):
    return max(runs, key=lambda t: t[0]["tokens_per_s"]) if runs else (None, "")


def print_mixed_precision(groups, configs):
    """attograd's bf16 mode against its f32, PyTorch's f32 at its best and
    PyTorch's bf16 autocast at its best, in tokens/s."""
    rows = []
    for config in configs:
        for threads in (1, 2):
            bf16 = groups.get((config, threads, "attograd", "bf16"))
            if not bf16:
                continue
            a, f = summary(bf16), groups.get((config, threads, "attograd", ""))
            f32 = summary(f)["tokens_per_s"] if f else None
            (t32, w32), (t16, w16) = best_of(torch_runs(groups, config, threads)), \
                best_of(torch_runs(groups, config, threads, bf16=True))
            ratio = lambda x, y: fmt(x / y, 2) if x and y else "-"
            rows.append(f"| {config} | {threads} | {fmt(a['tokens_per_s'])} | {fmt(f32)} | {ratio(a['tokens_per_s'], f32)} "
                        f"| {fmt(t32['tokens_per_s']) if t32 else '-'} ({w32}) "
                        f"| {fmt(t16['tokens_per_s']) if t16 else '-'} ({w16}) "
                        f"| {ratio(a['tokens_per_s'], t32 and t32['tokens_per_s'])} "
                        f"| {ratio(a['tokens_per_s'], t16 and t16['tokens_per_s'])} |")
    if not rows:
        return
    print("### Mixed precision: attograd --precision bf16 against PyTorch autocast (tokens/s, medians)\n")
    print("| config | threads | attograd bf16 | attograd f32 | bf16 / f32 | torch f32 best (which) "
          "| torch autocast best (which) | attograd bf16 / torch f32 | attograd bf16 / torch autocast |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()


def print_loaded(groups, configs):
    """Quiet against loaded (one core shared with a busy process at nice 10),
    for attograd and PyTorch at its best, in tokens/s."""
    rows = []
    for config in configs:
        for threads in sorted({k[1] for k in groups if k[0] == config and k[1] > 1}):
            loaded = groups.get((config, threads, "attograd", "loaded"))
            if not loaded:
                continue
            quiet = groups.get((config, threads, "attograd", ""))
            a, q = summary(loaded)["tokens_per_s"], summary(quiet)["tokens_per_s"] if quiet else None
            (tq, wq), (tl, wl) = best_of(torch_runs(groups, config, threads)), \
                best_of(torch_runs(groups, config, threads, loaded=True))
            ratio = lambda x, y: fmt(x / y, 2) if x and y else "-"
            tq, tl = tq and tq["tokens_per_s"], tl and tl["tokens_per_s"]
            rows.append(f"| {config} | {threads} | {fmt(q)} | {fmt(a)} | {ratio(a, q)} | {fmt(tq)} ({wq}) "
                        f"| {fmt(tl)} ({wl}) | {ratio(tl, tq)} | {ratio(q, tq)} | {ratio(a, tl)} |")
    if not rows:
        return
    print("### Under load: one core shared with a busy process at nice 10 (tokens/s, medians)\n")
    print("| config | threads | attograd quiet | attograd loaded | loaded / quiet | torch quiet best (which) "
          "| torch loaded best (which) | torch loaded / quiet | attograd / torch quiet | attograd / torch loaded |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()


SHARED_CORE_RATIO = 1.6  # 2-core FMA rate below this many times one core's: the vCPUs shared a core


def parse_check(run):
    """(config, threads, rep) of a core check, whose setting is
    "before:CONFIG:THREADS" ("before:CONFIG" in reports before 16:30 on
    2026-12-01, all of them before 2-thread runs)."""
    parts = run["setting"].split(":")
    return parts[1], int(parts[2]) if len(parts) > 2 else 2, run["rep"]


def shared_core(check):
    return check["gflops_2_cores"] / check["gflops_1_core"] < SHARED_CORE_RATIO


def print_summary(groups, sgemm, configs, checks):
    print("### attograd against PyTorch at its best (tokens/s = target tokens per second, medians)\n")
    print("| config | threads | attograd tok/s | torch best tok/s (which) | attograd / torch | attograd 2T / 1T "
          "| peak RSS MiB attograd / torch | attograd GFLOP/s | share of sgemm rate | torch GFLOP/s "
          "| attograd reps on one shared core |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for config in configs:
        for threads in (1, 2):
            ours = groups.get((config, threads, "attograd", ""))
            if not ours:
                continue
            a = summary(ours)
            torch = torch_runs(groups, config, threads)
            best, which = max(torch, key=lambda t: t[0]["tokens_per_s"]) if torch else (None, "")
            one = groups.get((config, 1, "attograd", ""))
            speedup = a["tokens_per_s"] / summary(one)["tokens_per_s"] if threads == 2 and one else None
            rate = sgemm.get(config, {}).get("gflops_1_caller" if threads == 1 else "gflops_2_callers")
            share = f"{100 * a['gflops'] / rate:.0f}% of {rate:.0f}" if rate else "-"
            print(f"| {config} | {threads} | {fmt(a['tokens_per_s'])} "
                  f"| {fmt(best['tokens_per_s']) if best else '-'} ({which}) "
                  f"| {fmt(a['tokens_per_s'] / best['tokens_per_s'], 2) if best else '-'} "
                  f"| {fmt(speedup, 2) if speedup else '-'} "
                  f"| {fmt(a['peak_rss_mib'])} / {fmt(best['peak_rss_mib']) if best else '-'} "
                  f"| {fmt(a['gflops'], 1)} | {share} | {fmt(best['gflops'], 1) if best else '-'} "
                  f"| {on_shared_core(ours, config, threads, checks) if threads > 1 else '-'} |")
    print("\nThe last column counts the multi-thread attograd repetitions whose core check (below) found both "
          "threads on one physical core, out of the repetitions that had a check; their numbers measure the "
          "host. PyTorch's runs are not checked.\n")


def on_shared_core(results, config, threads, checks):
    """"k of n checked" over results' repetitions; "-" when none had a check."""
    found = [checks[(config, threads, r.get("rep"))] for r in results if (config, threads, r.get("rep")) in checks]
    return f"{sum(map(shared_core, found))} of {len(found)} checked" if found else "-"


# Issue 6's targets: attograd / PyTorch's best at 2 threads, and at 1 thread.
TARGET_RATIO = {("tiny", 2): 3.0, ("small", 2): 3.0, ("base", 2): 2.0, ("copy", 2): 2.0}
TARGET_RATIO_1_THREAD = 1.5
TARGET_SCALING = 1.8  # attograd 2 threads / 1 thread


def print_targets(groups, sgemm, peak, configs):
    """What each target asks of the machine: the step time it allows, the
    GEMM rate a step must then reach (its matmul flops over that time), and
    that rate as a share of the measured sgemm rate on the step's own shapes
    and of the cores' FMA peak. Above 100% of the sgemm rate, a step doing
    nothing but its GEMMs at OpenBLAS's speed would still miss the target;
    above 100% of the FMA peak, no GEMM can meet it."""
    print("### Issue 6's targets against what this machine can do\n")
    print("| config | threads | target | target tok/s | step budget s | GEMM GFLOP/s needed "
          "| needed / sgemm rate | needed / FMA peak | attograd tok/s | attograd / torch | met |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for config in configs:
        for threads in (1, 2):
            ours = groups.get((config, threads, "attograd", ""))
            torch = torch_runs(groups, config, threads)
            if not ours or not torch:
                continue
            a, best = summary(ours), max(torch, key=lambda t: t[0]["tokens_per_s"])[0]
            ratio = TARGET_RATIO.get((config, threads), TARGET_RATIO_1_THREAD)
            target = ratio * best["tokens_per_s"]
            budget = ours[0]["target_tokens_per_step"] / target
            needed = ours[0]["matmul_flops_per_step"] / budget * 1e-9
            rate = sgemm.get(config, {}).get("gflops_1_caller" if threads == 1 else "gflops_2_callers")
            fma = peak.get("gflops_1_core" if threads == 1 else "gflops_2_cores")
            achieved = a["tokens_per_s"] / best["tokens_per_s"]
            print(f"| {config} | {threads} | {ratio:g}x torch | {fmt(target)} | {budget:.3f} | {needed:.1f} "
                  f"| {f'{100 * needed / rate:.0f}%' if rate else '-'} | {f'{100 * needed / fma:.0f}%' if fma else '-'} "
                  f"| {fmt(a['tokens_per_s'])} | {achieved:.2f} | {'yes' if achieved >= ratio else 'no'} |")
    for config in configs:
        one, two = groups.get((config, 1, "attograd", "")), groups.get((config, 2, "attograd", ""))
        if one and two:
            scaling = summary(two)["tokens_per_s"] / summary(one)["tokens_per_s"]
            print(f"\n{config}: attograd 2 threads / 1 thread = {scaling:.2f} "
                  f"(target {TARGET_SCALING:g}: {'met' if scaling >= TARGET_SCALING else 'not met'})", end="")
    if peak:
        print(f"\n\nFMA peak measured in this run (the higher of its start and end): "
              f"{peak['gflops_1_core']:.1f} GFLOP/s on one core, {peak['gflops_2_cores']:.1f} on two at once "
              "(`attograd_bench --peak`).")
    print()


def print_core_checks(checks):
    """The FMA peak measured just before each 2-thread attograd run: when two
    threads reach well under twice one core's rate (here: under 1.6x), the
    two vCPUs were sharing one physical core's FMA units during that run,
    and its 2-thread numbers (and 2T / 1T) say more about the host than
    about attograd."""
    if not checks:
        return
    print("### Were the two cores two cores? (FMA peak just before each 2-thread attograd run)\n")
    print("| config | threads | rep | 1 core GFLOP/s | 2 cores GFLOP/s | 2 / 1 |")
    print("|---|---|---|---|---|---|")
    shared = 0
    for (config, threads, rep), p in checks.items():
        ratio = p["gflops_2_cores"] / p["gflops_1_core"]
        shared += shared_core(p)
        print(f"| {config} | {threads} | {rep} | {p['gflops_1_core']:.1f} | {p['gflops_2_cores']:.1f} | {ratio:.2f} |")
    print(f"\n{shared} of {len(checks)} checks found the two threads below {SHARED_CORE_RATIO:g}x one core.\n")


def print_cpu_view(groups, sgemm, configs):
    print("### The same at 1 thread, per CPU-second (robust to other processes sharing the cores)\n")
    print("| config | attograd tokens per CPU-s | torch best tokens per CPU-s (which) | attograd / torch "
          "| attograd GFLOP per CPU-s | share of 1-core sgemm per CPU-s |")
    print("|---|---|---|---|---|---|")
    for config in configs:
        ours = groups.get((config, 1, "attograd", ""))
        if not ours:
            continue
        a = summary(ours)
        torch = torch_runs(groups, config, 1)
        best, which = max(torch, key=lambda t: t[0]["tokens_per_cpu_s"]) if torch else (None, "")
        gflops_cpu = ours[0]["matmul_flops_per_step"] / a["cpu_s"] * 1e-9
        rate = sgemm.get(config, {}).get("gflops_1_caller_cpu")
        share = f"{100 * gflops_cpu / rate:.0f}% of {rate:.0f}" if rate else "-"
        print(f"| {config} | {fmt(a['tokens_per_cpu_s'])} | {fmt(best['tokens_per_cpu_s']) if best else '-'} ({which}) "
              f"| {fmt(a['tokens_per_cpu_s'] / best['tokens_per_cpu_s'], 2) if best else '-'} "
              f"| {fmt(gflops_cpu, 1)} | {share} |")
    print()


def print_sgemm(sgemm):
    print("### The machine's cblas_sgemm on each configuration's GEMM shapes (OpenBLAS, single-threaded calls)\n")
    print("| config | shapes | GFLOP/s 1 caller | GFLOP/s 2 concurrent callers | sgemm-only step s (1 / 2) "
          "| per CPU-s: 1 caller / 2 callers |")
    print("|---|---|---|---|---|---|")
    for config, s in sgemm.items():
        print(f"| {config} | {len(s['shapes'])} | {s['gflops_1_caller']:.1f} | {s['gflops_2_callers']:.1f} "
              f"| {s['sgemm_step_seconds_1_caller']:.3f} / {s['sgemm_step_seconds_2_callers']:.3f} "
              f"| {s['gflops_1_caller_cpu']:.1f} / {s['gflops_2_callers_cpu']:.1f} |")
    print()


def print_ops(ops):
    for o in ops:
        t = o["threads"]
        print(f"### Single ops, config {o['config']}, attograd on {t} thread(s) "
              f"(median of {o['reps']}; sgemm = direct single-threaded cblas_sgemm calls)\n")
        print("| matmul | fwd ms | fwd GFLOP/s | sgemm fwd GFLOP/s | bwd ms | bwd GFLOP/s | sgemm bwd GFLOP/s |"
              + (" 2-caller sgemm fwd / bwd GFLOP/s |" if t > 1 else ""))
        print("|---|---|---|---|---|---|---|" + ("---|" if t > 1 else ""))
        for m in o["matmul"]:
            d1 = m["sgemm_1_caller"]
            extra = ""
            if t > 1:
                d2 = m["sgemm_2_callers"]
                extra = f" {d2['forward_gflops']:.0f} / {d2['backward_gflops']:.0f} |"
            print(f"| {m['op']} | {1e3 * m['forward_s']:.2f} | {m['forward_gflops']:.0f} | {d1['forward_gflops']:.0f} "
                  f"| {1e3 * m['backward_s']:.2f} | {m['backward_gflops']:.0f} | {d1['backward_gflops']:.0f} |{extra}")
        print("\n| memory-bound op | fwd ms | fwd GB/s | bwd ms | bwd GB/s | memcpy GB/s (same size) |")
        print("|---|---|---|---|---|---|")
        for m in o["memory_bound"]:
            print(f"| {m['op']} | {1e3 * m['forward_s']:.3f} | {m['forward_gbps']:.1f} | {1e3 * m['backward_s']:.3f} "
                  f"| {m['backward_gbps']:.1f} | {m['memcpy_gbps']:.1f} |")
        print()


def print_overhead(overheads):
    print("### Engine overhead per node (1-element scale/add graphs; microseconds per node)\n")
    print("| graph | nodes | threads | TBB fwd | TBB bwd | TBB fwd+bwd | sequential fwd+bwd |")
    print("|---|---|---|---|---|---|---|")
    for o in overheads:
        for g in o["graphs"]:
            tbb, seq = g["tbb"], g["sequential"]
            print(f"| {g['graph']} | {g['nodes']} | {o['threads']} | {tbb['forward_us_per_node']:.2f} "
                  f"| {tbb['backward_us_per_node']:.2f} | {tbb['forward_backward_us_per_node']:.2f} "
                  f"| {seq['forward_backward_us_per_node']:.2f} |")
    print()


def main():
    raw, out, invocation = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = load(raw)
    meta = next((r["result"] for r in runs if r["result"].get("mode") == "meta"), {})
    runs = [r for r in runs if r["result"].get("mode") != "meta"]
    sgemm = {r["result"]["config"]: r["result"] for r in runs if r["result"].get("mode") == "sgemm"}
    ops = [r["result"] for r in runs if r["result"].get("mode") == "ops"]
    overheads = [r["result"] for r in runs if r["result"].get("mode") == "overhead"]
    is_peak = lambda r: r["result"].get("mode") == "peak" and r["result"].get("supported")
    # The run's own peak: the start and end measurements (not the short
    # checks before each 2-thread run).
    peaks = [r["result"] for r in runs if is_peak(r) and not r["run"].get("setting", "").startswith("before:")]
    peak = {k: max(p[k] for p in peaks) for k in ("gflops_1_core", "gflops_2_cores")} if peaks else {}
    checks = {parse_check(r["run"]): r["result"] for r in runs
              if is_peak(r) and r["run"].get("setting", "").startswith("before:")}
    groups = train_groups(runs)
    configs = [c for c in ["tiny", "small", "base", "copy"] if any(k[0] == c for k in groups)]
    loads = [r["run"]["loadavg"] for r in runs if "loadavg" in r["run"]]
    with open(out, "w") as f:
        json.dump({"invocation": invocation, "meta": meta, "runs": runs}, f)

    print(f"## attograd benchmark, {meta.get('date', '?')}: `{invocation}`\n")
    print(f"Machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores; PyTorch {meta.get('torch', '?')}. "
          f"Load average (1 min) before the runs: min {min(loads, default=0):.1f}, "
          f"median {med(loads):.1f}, max {max(loads, default=0):.1f} "
          "(a load above the core count means other processes shared the cores).\n")
    print_summary(groups, sgemm, configs, checks)
    print_targets(groups, sgemm, peak, configs)
    print_mixed_precision(groups, configs)
    print_loaded(groups, configs)
    print_core_checks(checks)
    print_cpu_view(groups, sgemm, configs)
    print_runs(groups)
    print_sgemm(sgemm)
    print_ops(ops)
    print_overhead(overheads)
    print(f"Raw results: {out}")


if __name__ == "__main__":
    main()
