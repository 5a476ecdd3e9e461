// The AVX2 + FMA micro-kernels: a kTileRows x kTileCols tile of C in
// kTileRows * kTileCols / 8 ymm accumulators; per contraction step
// kTileCols / 8 vectors of the B panel and kTileRows broadcasts of the A
// panel feed one FMA per accumulator. Only these functions are compiled for
// AVX2 (target attribute); the build stays -march=x86-64 and kernels()
// calls them only when the CPU has AVX2 and FMA.
//
// Zen 3 (2 FMA pipes, 4-cycle latency) needs at least 8 independent chains;
// the tile gives 12. bench/gemm_rates measures the rates.
#include <immintrin.h>

#include "ops/gemm/kernels.hpp"

namespace attograd::gemm {
namespace {

constexpr int kVectors = kTileCols / 8;
static_assert(kTileCols % 8 == 0, "the AVX2 kernels hold rows of the tile in whole ymm vectors");
using Acc = __m256[kTileRows][kVectors];
using Row = __m256[kVectors];

[[gnu::always_inline, gnu::target("avx2,fma")]] inline void load_start(Acc& acc, const float* start,
                                                                         std::int64_t start_ld) {
#pragma GCC unroll 8
  for (int i = 0; i < kTileRows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v)
      acc[i][v] = start ? _mm256_loadu_ps(start + i * start_ld + 8 * v) : _mm256_setzero_ps();
}

[[gnu::always_inline, gnu::target("avx2,fma")]] inline void store(const Acc& acc, float* c, std::int64_t ldc) {
#pragma GCC unroll 8
  for (int i = 0; i < kTileRows; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) _mm256_storeu_ps(c + i * ldc + 8 * v, acc[i][v]);
}

// acc[i] += a[i] * b for every row of the tile, one FMA per accumulator
// (a: kTileRows floats).
[[gnu::always_inline, gnu::target("avx2,fma")]] inline void rank1(Acc& acc, const float* a, const Row& b) {
#pragma GCC unroll 8
  for (int i = 0; i < kTileRows; ++i) {
    const __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) acc[i][v] = _mm256_fmadd_ps(ai, b[v], acc[i][v]);
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
    Row row;
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) row[v] = _mm256_load_ps(b + p * kTileCols + 8 * v);
    rank1(acc, a + p * kTileRows, row);
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
    Row odd, even;
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) odd[v] = _mm256_castsi256_ps(_mm256_and_si256(_mm256_load_si256(pairs + v), upper));
    rank1(acc, a + q * 2 * kTileRows, odd);
    // Load the pairs again below rather than keep them: with twelve
    // accumulators, the odd and the even halves in registers at once would
    // spill accumulators to the stack in this loop (GCC 12 did).
    asm volatile("" ::: "memory");
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) even[v] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_load_si256(pairs + v), 16));
    rank1(acc, a + q * 2 * kTileRows + kTileRows, even);
  }
  store(acc, c, ldc);
}

}  // namespace attograd::gemm
