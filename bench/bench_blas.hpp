// The machine's own limits, measured with the BLAS attograd links: sgemm
// throughput on a given shape, and memory bandwidth of memcpy.
//
//   Timing s1 = time_gemm(g, 1, 0.2);   // seconds per call, one caller
//   Timing s2 = time_gemm(g, 2, 0.2);   // two callers at once: wall / calls
//   double gflops = g.flops() / s1.wall_s * 1e-9;
#pragma once

#include <cstddef>

#include "bench/bench_common.hpp"

namespace attograd::bench {

// Seconds per unit of work: elapsed, and CPU time of the process (which on
// a machine shared with other processes counts only the time it ran).
struct Timing {
  double wall_s = 0, cpu_s = 0;
};

// Seconds per call of `gemm` (all of its `count` products, each on its own
// matrices) when `callers` threads each run it at once on single-threaded
// cblas_sgemm: the medians over repeated rounds of wall and CPU time /
// (callers * calls per caller). Rounds repeat for at least `min_seconds`.
Timing time_gemm(const Gemm& gemm, int callers, double min_seconds);

// Seconds (wall) to memcpy `bytes` bytes between two buffers, the median of
// rounds lasting at least `min_seconds`. Bandwidth counts read + write:
// 2 * bytes / s.
double time_memcpy(std::size_t bytes, double min_seconds);

}  // namespace attograd::bench
