// Packing operands into the micro-kernels' panels (layouts: kernels.hpp).
//
// The contraction is cut into blocks of depth_block(k) (the last may be
// shorter); a packed op(B) (k, n) holds, for each contraction block, its
// column panels of kTileCols columns one after another (columns past n are
// zero). One packed word is 4 bytes: a float (fp32) or a bf16 pair (bf16).
//
//   block starting at k0 (depth d):  words from k0' * n_padded, where
//                                    k0' = k0 (fp32) or k0 / 2 (bf16)
//   its panel of columns [j0, j0+16): d' * j0 words further on, d' = d or ceil(d / 2)
#pragma once

#include <cstdint>

#include "ops/gemm/kernels.hpp"
#include "ops/gemm/types.hpp"

namespace attograd::gemm {

// Depth of the contraction blocks of a k-long product: about 256 (a 6 x 256
// A panel and a 256 x 16 B panel fill 22 KB of a 32 KB L1), equal blocks,
// even (bf16 pairs never straddle two blocks). Depends on k only.
std::int64_t depth_block(std::int64_t k);

// Words a packed op(B) (k, n) takes.
std::int64_t packed_words(std::int64_t k, std::int64_t n, Precision precision);

// A view of a packed op(B): where block k0's panel j0 starts.
struct PackedView {
  const std::uint32_t* words = nullptr;
  std::int64_t k = 0, n = 0, block = 0;  // block = depth_block(k)
  Precision precision = Precision::f32;

  std::int64_t n_padded() const { return (n + kTileCols - 1) / kTileCols * kTileCols; }
  const std::uint32_t* panel(std::int64_t k0, std::int64_t j0) const {
    const std::int64_t depth = k0 + block < k ? block : k - k0;
    if (precision == Precision::bf16) return words + k0 / 2 * n_padded() + (depth + 1) / 2 * j0;
    return words + k0 * n_padded() + depth * j0;
  }
};

// Packs the panels [first_panel, end_panel) of op(B) (k, n) into `out`
// (packed_words of them); panel index = block index * panels per block +
// column panel. Panels are independent: any split gives the same words.
void pack_b(Operand b, std::int64_t k, std::int64_t n, Precision precision, std::int64_t first_panel,
            std::int64_t end_panel, std::uint32_t* out);
std::int64_t panel_count(std::int64_t k, std::int64_t n);

// Packs rows [r0, r0 + rows) and contraction [k0, k0 + depth) of op(A) into
// row panels of kTileRows (rows past `rows` are zero), one after another:
// fp32 panels of depth * 6 floats, bf16 panels of ceil(depth / 2) * 12.
void pack_a(Operand a, std::int64_t r0, std::int64_t rows, std::int64_t k0, std::int64_t depth, Precision precision,
            float* out);
// Floats pack_a writes for a block.
std::int64_t packed_a_floats(std::int64_t rows, std::int64_t depth, Precision precision);

}  // namespace attograd::gemm
