// The AVX2 + FMA micro-kernels: a 6 x 16 tile of C in twelve ymm
// accumulators; per contraction step two vectors of the B panel and six
// broadcasts of the A panel feed twelve FMAs. Only these functions are
// compiled for AVX2 (target attribute); the build stays -march=x86-64 and
// kernels() calls them only when the CPU has AVX2 and FMA.
//
// Measured on Zen 3 (2 FMA pipes, 4-cycle latency): twelve independent
// chains keep both pipes busy; see bench_gemm.cpp for the rates.
#include <immintrin.h>

#include "ops/gemm/kernels.hpp"

namespace attograd::gemm {
namespace {

using Acc = __m256[kTileRows][2];

[[gnu::always_inline, gnu::target("avx2,fma")]] inline void load_start(Acc& acc, const float* start,
                                                                         std::int64_t start_ld) {
#pragma GCC unroll 6
  for (int i = 0; i < kTileRows; ++i) {
    acc[i][0] = start ? _mm256_loadu_ps(start + i * start_ld) : _mm256_setzero_ps();
    acc[i][1] = start ? _mm256_loadu_ps(start + i * start_ld + 8) : _mm256_setzero_ps();
  }
}

[[gnu::always_inline, gnu::target("avx2,fma")]] inline void store(const Acc& acc, float* c, std::int64_t ldc) {
#pragma GCC unroll 6
  for (int i = 0; i < kTileRows; ++i) {
    _mm256_storeu_ps(c + i * ldc, acc[i][0]);
    _mm256_storeu_ps(c + i * ldc + 8, acc[i][1]);
  }
}

// acc[i] += a[i] * (b0, b1) for the six rows, one FMA each (a: six floats).
[[gnu::always_inline, gnu::target("avx2,fma")]] inline void rank1(Acc& acc, const float* a, __m256 b0, __m256 b1) {
#pragma GCC unroll 6
  for (int i = 0; i < kTileRows; ++i) {
    const __m256 ai = _mm256_broadcast_ss(a + i);
    acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
    acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
  }
}

}  // namespace

[[gnu::target("avx2,fma")]] void tile_f32_avx2(std::int64_t depth, const float* a, const float* b,
                                               const float* start, std::int64_t start_ld, float* c,
                                               std::int64_t ldc) {
  Acc acc;
  load_start(acc, start, start_ld);
#pragma GCC unroll 4
  for (std::int64_t p = 0; p < depth; ++p) {
    rank1(acc, a + p * kTileRows, _mm256_load_ps(b + p * kTileCols), _mm256_load_ps(b + p * kTileCols + 8));
  }
  store(acc, c, ldc);
}

// Each dword of the B panel holds a pair: the odd element in its upper half
// (already an fp32 bit pattern once the lower half is cleared), the even one
// in its lower half (an fp32 once shifted up by 16).
[[gnu::target("avx2,fma")]] void tile_bf16_avx2(std::int64_t depth, const float* a, const std::uint32_t* b,
                                                const float* start, std::int64_t start_ld, float* c,
                                                std::int64_t ldc) {
  Acc acc;
  load_start(acc, start, start_ld);
  const __m256i upper = _mm256_set1_epi32(std::int32_t(0xFFFF0000u));
  for (std::int64_t q = 0; q < depth; ++q) {
    const auto* pairs = reinterpret_cast<const __m256i*>(b + q * kTileCols);
    const __m256i p0 = _mm256_load_si256(pairs), p1 = _mm256_load_si256(pairs + 1);
    rank1(acc, a + q * 2 * kTileRows, _mm256_castsi256_ps(_mm256_and_si256(p0, upper)),
          _mm256_castsi256_ps(_mm256_and_si256(p1, upper)));
    rank1(acc, a + q * 2 * kTileRows + kTileRows, _mm256_castsi256_ps(_mm256_slli_epi32(p0, 16)),
          _mm256_castsi256_ps(_mm256_slli_epi32(p1, 16)));
  }
  store(acc, c, ldc);
}

}  // namespace attograd::gemm
