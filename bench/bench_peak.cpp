// --peak: the cores' own single-precision FMA peak, measured, the ceiling
// that no GEMM (OpenBLAS's or anyone's) can pass. Twelve independent chains
// of 8-wide fused multiply-adds (Zen 3 and Haswell-class cores issue two a
// cycle with a 4-5 cycle latency, so 12 chains keep both FMA pipes full);
// 16 flops per instruction. "2 cores" runs the same loop on two threads at
// once: on a shared or turbo-limited machine it is below 2x one core.
// bench/run.sh measures it at the start and at the end of a run; the report
// takes the higher of the two.
#include <algorithm>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_common.hpp"
#include "bench/bench_modes.hpp"

namespace attograd::bench {
namespace {

using f8 = float __attribute__((vector_size(32)));
constexpr int kChains = 12;
volatile float observed = 0;

// FMA instructions executed: iterations x kChains; returns a value
// derived from every chain so that none can be optimised away.
__attribute__((target("avx2,fma"))) float fma_loop(std::int64_t iterations) {
  f8 acc[kChains];
  const f8 mul = f8{} + 0.999999f, add = f8{} + 1e-7f;
  for (auto& a : acc) a = f8{} + 1.0f;
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = __builtin_ia32_vfmaddps256(acc[c], mul, add);
  }
  f8 sum = f8{};
  for (const auto& a : acc) sum += a;
  return sum[0] + sum[7];
}

// GFLOP/s of `threads` threads each running the loop at once: the best
// round, since other work on the machine can only slow a round down.
double peak_gflops(int threads, double min_seconds) {
  constexpr std::int64_t kIterations = 20'000'000;  // ~40 ms a round on a 3 GHz core
  const double flops = double(kIterations) * kChains * 16 * threads;
  std::vector<double> rates;
  std::vector<float> sink(static_cast<std::size_t>(threads));
  const auto start = Clock::now();
  while (rates.size() < 3 || seconds_since(start) < min_seconds) {
    const auto t = Clock::now();
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) pool.emplace_back([&, i] { sink[std::size_t(i)] = fma_loop(kIterations); });
    for (auto& th : pool) th.join();
    rates.push_back(flops / seconds_since(t) * 1e-9);
    for (float v : sink) observed = observed + v;  // the loops' results are used
  }
  return *std::max_element(rates.begin(), rates.end());
}

}  // namespace

nlohmann::json run_peak(const ModeArgs& a) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    return {{"mode", "peak"}, {"supported", false}};
  const double one = peak_gflops(1, a.min_seconds), two = peak_gflops(2, a.min_seconds);
  return {{"mode", "peak"}, {"supported", true}, {"gflops_1_core", one}, {"gflops_2_cores", two}};
}

}  // namespace attograd::bench
