// Direct cblas_sgemm and memcpy timings: the yardsticks attograd's numbers
// are compared with. OpenBLAS runs single-threaded, as inside attograd; two
// threads each calling it at once is how attograd uses two cores.
#include "bench/bench_blas.hpp"

#include <cblas.h>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

extern "C" void openblas_set_num_threads(int);

namespace attograd::bench {
namespace {

// Calls per timed round: enough for a round of about 20 ms.
constexpr double kRoundSeconds = 0.02;

std::vector<float> random_floats(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// One caller's operands for all `count` products of a Gemm.
struct GemmBuffers {
  std::vector<float> a, b, c;
  GemmBuffers(const Gemm& g, std::uint64_t seed)
      : a(random_floats(std::size_t(g.count * g.m * g.k), seed)),
        b(random_floats(std::size_t(g.count * g.k * g.n), seed + 1)),
        c(std::size_t(g.count * g.m * g.n)) {}
};

void run_gemm(const Gemm& g, GemmBuffers& buf, std::int64_t calls) {
  const int m = int(g.m), n = int(g.n), k = int(g.k);
  const int lda = g.trans_a ? m : k, ldb = g.trans_b ? k : n;
  for (std::int64_t call = 0; call < calls; ++call)
    for (std::int64_t i = 0; i < g.count; ++i)
      cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans, m, n,
                  k, 1.0f, buf.a.data() + i * g.m * g.k, lda, buf.b.data() + i * g.k * g.n, ldb, 0.0f,
                  buf.c.data() + i * g.m * g.n, n);
}

// Median seconds per unit of work, where round(units) runs a round and
// returns how many units it did; `units` is sized so that a round lasts
// about kRoundSeconds.
template <class Round>
Timing median_per_unit(double min_seconds, double one_unit_seconds, Round round) {
  const auto units = std::max<std::int64_t>(1, std::int64_t(kRoundSeconds / std::max(one_unit_seconds, 1e-9)));
  std::vector<double> wall, cpu;
  const auto start = Clock::now();
  while (wall.size() < 3 || seconds_since(start) < min_seconds) {
    const auto t = Clock::now();
    const double c = process_cpu_seconds();
    const double work = round(units);
    wall.push_back(seconds_since(t) / work);
    cpu.push_back((process_cpu_seconds() - c) / work);
  }
  return {stats(wall).median, stats(cpu).median};
}

}  // namespace

Timing time_gemm(const Gemm& g, int callers, double min_seconds) {
  openblas_set_num_threads(1);
  std::vector<GemmBuffers> buffers;
  for (int i = 0; i < callers; ++i) buffers.emplace_back(g, 17 + 2 * std::uint64_t(i));
  auto t = Clock::now();
  run_gemm(g, buffers[0], 1);  // warm caches and OpenBLAS's buffers
  const double one = seconds_since(t);
  return median_per_unit(min_seconds, one, [&](std::int64_t calls) {
    if (callers == 1) {
      run_gemm(g, buffers[0], calls);
    } else {
      std::vector<std::thread> threads;
      for (int i = 0; i < callers; ++i) threads.emplace_back([&, i] { run_gemm(g, buffers[std::size_t(i)], calls); });
      for (auto& th : threads) th.join();
    }
    return double(calls) * callers;
  });
}

double time_memcpy(std::size_t bytes, double min_seconds) {
  std::vector<char> from(bytes, 1), to(bytes, 0);
  auto t = Clock::now();
  std::memcpy(to.data(), from.data(), bytes);
  const double one = seconds_since(t);
  return median_per_unit(min_seconds, one, [&](std::int64_t copies) {
    for (std::int64_t i = 0; i < copies; ++i) {
      std::memcpy(to.data(), from.data(), bytes);
      from[std::size_t(i) % bytes] = to[bytes - 1 - std::size_t(i) % bytes];  // keep the copies observable
    }
    return double(copies);
  }).wall_s;
}

}  // namespace attograd::bench
