// The micro-kernels of attograd's GEMM: one register tile of C, kTileRows x
// kTileCols (6 x 16), computed from a packed panel of A and one of B.
//
// Every kernel computes each element of its tile as ONE chain of fused
// multiply-adds in the order of the contraction index, starting from a
// given value:
//
//   fp32:  acc = start[i][j];  for p in [0, depth): acc = fma(a(i, p), b(p, j), acc)
//   bf16:  acc = start[i][j];  for each pair q:     acc = fma(a(i, 2q+1), b(2q+1, j), acc)
//                                                   acc = fma(a(i, 2q),   b(2q, j),   acc)
//
// so the result of a whole product does not depend on how the contraction
// is cut into blocks (a later block starts from what the earlier one left
// in C), nor on the kernel: the portable and the AVX2 kernels give the same
// bits. A wider kernel (AVX-512, a different tile) can be added as one more
// Kernels entry; it gives the same bits as long as it keeps the chain.
//
// bf16 follows VDPBF16PS (Intel SDM): per fp32 lane, the odd element of
// each pair first, then the even one, each an FP32 FMA with round to
// nearest even, denormal inputs read as zero and denormal results flushed
// to zero, whatever MXCSR says. The emulation gets the same by running
// under MXCSR = DAZ | FTZ | round-to-nearest (set by the driver, see
// BfloatRounding in multiply.cpp); a product of two bf16 values is exact
// in fp32 unless it under- or overflows, and the FMA rounds once either way.
//
// Panels (written by pack.hpp):
//   fp32 A: depth x kTileRows floats, a(i, p) at a[p * 6 + i].
//   fp32 B: depth x kTileCols floats, b(p, j) at b[p * 16 + j].
//   bf16 A: per pair q, 12 floats holding bf16 values: a(i, 2q+1) at
//           a[q * 12 + i], a(i, 2q) at a[q * 12 + 6 + i] (split in advance:
//           the AVX2 kernel broadcasts them as floats).
//   bf16 B: per pair q, 16 dwords, dword j = bf16(b(2q+1, j)) << 16 |
//           bf16(b(2q, j)): the layout VDPBF16PS reads.
// A missing last element of an odd contraction is packed as +0 in both.
#pragma once

#include <cstdint>

namespace attograd::gemm {

constexpr std::int64_t kTileRows = 6, kTileCols = 16;

// c[i * ldc + j] (i < 6, j < 16) = the chain above, started from
// start[i * start_ld + j] (start_ld = 0 repeats one row, a bias; null
// starts from +0). start may equal c. depth counts elements (fp32) or pairs
// (bf16).
using TileKernelF32 = void (*)(std::int64_t depth, const float* a, const float* b, const float* start,
                               std::int64_t start_ld, float* c, std::int64_t ldc);
using TileKernelBf16 = void (*)(std::int64_t depth, const float* a, const std::uint32_t* b, const float* start,
                                std::int64_t start_ld, float* c, std::int64_t ldc);

// Which instruction set the kernels use. `best` is the fastest the CPU
// runs, found once per process with __builtin_cpu_supports.
enum class Isa { best, portable, avx2 };

struct Kernels {
  const char* name;
  TileKernelF32 f32;
  TileKernelBf16 bf16;
};

// The kernels of `isa` (best: resolved). Throws Error if the CPU lacks it.
const Kernels& kernels(Isa isa);
bool isa_available(Isa isa);
Isa best_isa();

// The kernels, one file each (kernels_portable.cpp, kernels_avx2.cpp).
void tile_f32_portable(std::int64_t depth, const float* a, const float* b, const float* start, std::int64_t start_ld,
                       float* c, std::int64_t ldc);
void tile_bf16_portable(std::int64_t depth, const float* a, const std::uint32_t* b, const float* start,
                        std::int64_t start_ld, float* c, std::int64_t ldc);
void tile_f32_avx2(std::int64_t depth, const float* a, const float* b, const float* start, std::int64_t start_ld,
                   float* c, std::int64_t ldc);
void tile_bf16_avx2(std::int64_t depth, const float* a, const std::uint32_t* b, const float* start,
                    std::int64_t start_ld, float* c, std::int64_t ldc);

}  // namespace attograd::gemm
