// The portable micro-kernels: plain C++, one std::fma per multiply-add, so
// they give the AVX2 kernels' bits on any x86-64 (glibc's fmaf uses the FMA
// instruction where the CPU has one and an exact software FMA elsewhere; in
// both cases a single rounding under the current MXCSR). Slow (a libm call
// per multiply-add under -march=x86-64): for CPUs without AVX2, and as the
// reference the AVX2 kernels are tested against.
#include <bit>
#include <cmath>

#include "ops/gemm/kernels.hpp"

namespace attograd::gemm {
namespace {

using Tile = float[kTileRows][kTileCols];

void load_start(Tile& acc, const float* start, std::int64_t start_ld) {
  for (std::int64_t i = 0; i < kTileRows; ++i)
    for (std::int64_t j = 0; j < kTileCols; ++j) acc[i][j] = start ? start[i * start_ld + j] : 0.0f;
}

void store(const Tile& acc, float* c, std::int64_t ldc) {
  for (std::int64_t i = 0; i < kTileRows; ++i)
    for (std::int64_t j = 0; j < kTileCols; ++j) c[i * ldc + j] = acc[i][j];
}

}  // namespace

void tile_f32_portable(std::int64_t depth, const float* a, const float* b, const float* start, std::int64_t start_ld,
                       float* c, std::int64_t ldc) {
  Tile acc;
  load_start(acc, start, start_ld);
  for (std::int64_t p = 0; p < depth; ++p, a += kTileRows, b += kTileCols)
    for (std::int64_t i = 0; i < kTileRows; ++i)
      for (std::int64_t j = 0; j < kTileCols; ++j) acc[i][j] = std::fma(a[i], b[j], acc[i][j]);
  store(acc, c, ldc);
}

void tile_bf16_portable(std::int64_t depth, const float* a, const std::uint32_t* b, const float* start,
                        std::int64_t start_ld, float* c, std::int64_t ldc) {
  Tile acc;
  load_start(acc, start, start_ld);
  for (std::int64_t q = 0; q < depth; ++q, a += 2 * kTileRows, b += kTileCols) {
    float odd[kTileCols], even[kTileCols];
    for (std::int64_t j = 0; j < kTileCols; ++j) {
      odd[j] = std::bit_cast<float>(b[j] & 0xFFFF0000u);
      even[j] = std::bit_cast<float>(b[j] << 16);
    }
    for (std::int64_t i = 0; i < kTileRows; ++i)
      for (std::int64_t j = 0; j < kTileCols; ++j) {
        acc[i][j] = std::fma(a[i], odd[j], acc[i][j]);
        acc[i][j] = std::fma(a[kTileRows + i], even[j], acc[i][j]);
      }
  }
  store(acc, c, ldc);
}

}  // namespace attograd::gemm
