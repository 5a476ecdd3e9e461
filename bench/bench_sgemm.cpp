// --sgemm: the machine's own GEMM rate on exactly the products one training
// step of a configuration runs (forward, and both gradients of every matmul),
// with the BLAS attograd links, single-threaded as attograd calls it.
//
// The aggregate rate is what a step whose every GEMM ran as fast as a direct
// cblas_sgemm call would reach: total flops / sum over shapes of (uses x
// seconds per call). "2 callers" runs two threads, each calling the same
// single-threaded sgemm at once: the ceiling of attograd on two cores.
// The "_cpu" rates divide by CPU time instead of elapsed time: what the
// cores do while they run this process, on a machine shared with others
// (two callers: both cores' CPU time, so the rate of two cores each busy).
#include <map>

#include <nlohmann/json.hpp>

#include "bench/bench_blas.hpp"
#include "bench/bench_modes.hpp"

namespace attograd::bench {

nlohmann::json run_sgemm(const ModeArgs& a) {
  const BenchConfig& c = find_config(a.config);
  std::map<Gemm, std::int64_t> uses;
  for (const GemmCall& call : config_gemms(c, a.seed)) ++uses[call.gemm];

  nlohmann::json shapes = nlohmann::json::array();
  double flops = 0, seconds_1 = 0, seconds_2 = 0, cpu_1 = 0, cpu_2 = 0;
  for (const auto& [g, n] : uses) {
    const Timing t1 = time_gemm(g, 1, a.min_seconds);
    const Timing t2 = time_gemm(g, 2, a.min_seconds);
    flops += double(n) * g.flops();
    seconds_1 += double(n) * t1.wall_s;
    seconds_2 += double(n) * t2.wall_s;
    cpu_1 += double(n) * t1.cpu_s;
    cpu_2 += double(n) * t2.cpu_s / 2;
    shapes.push_back({{"gemm", g.label()},
                      {"trans_a", g.trans_a},
                      {"trans_b", g.trans_b},
                      {"m", g.m},
                      {"n", g.n},
                      {"k", g.k},
                      {"count", g.count},
                      {"uses_per_step", n},
                      {"flops", g.flops()},
                      {"gflops_1_caller", g.flops() / t1.wall_s * 1e-9},
                      {"gflops_2_callers", g.flops() / t2.wall_s * 1e-9},
                      {"gflops_1_caller_cpu", g.flops() / t1.cpu_s * 1e-9},
                      {"gflops_2_callers_cpu", 2 * g.flops() / t2.cpu_s * 1e-9}});
  }
  return {{"mode", "sgemm"},
          {"config", c.name},
          {"matmul_flops_per_step", flops},
          {"sgemm_step_seconds_1_caller", seconds_1},
          {"sgemm_step_seconds_2_callers", seconds_2},
          {"gflops_1_caller", flops / seconds_1 * 1e-9},
          {"gflops_2_callers", flops / seconds_2 * 1e-9},
          {"gflops_1_caller_cpu", flops / cpu_1 * 1e-9},
          {"gflops_2_callers_cpu", flops / cpu_2 * 1e-9},
          {"shapes", shapes}};
}

}  // namespace attograd::bench
