#include "ops/gemm/pack.hpp"

#include <algorithm>

#include "ops/gemm/bf16.hpp"

namespace attograd::gemm {
namespace {

constexpr std::int64_t kTargetDepth = 256;

// op(X)(row, col) of an operand as stored.
inline float at(const Operand& x, std::int64_t row, std::int64_t col) {
  return x.transposed ? x.data[col * x.ld + row] : x.data[row * x.ld + col];
}

// One fp32 B panel: depth x 16 floats, b(p, j) at out[p * 16 + j].
void pack_b_panel_f32(const Operand& b, std::int64_t k0, std::int64_t depth, std::int64_t j0, std::int64_t cols,
                      float* out) {
  if (cols < kTileCols) std::fill_n(out, depth * kTileCols, 0.0f);
  if (b.transposed) {  // B stored (n, k): each column of op(B) is a contiguous row
    for (std::int64_t j = 0; j < cols; ++j) {
      const float* row = b.data + (j0 + j) * b.ld + k0;
      for (std::int64_t p = 0; p < depth; ++p) out[p * kTileCols + j] = row[p];
    }
  } else {
    for (std::int64_t p = 0; p < depth; ++p) std::copy_n(b.data + (k0 + p) * b.ld + j0, cols, out + p * kTileCols);
  }
}

// One bf16 B panel: ceil(depth / 2) x 16 dwords, odd element in the upper half.
void pack_b_panel_bf16(const Operand& b, std::int64_t k0, std::int64_t depth, std::int64_t j0, std::int64_t cols,
                       std::uint32_t* out) {
  const std::int64_t pairs = (depth + 1) / 2;
  for (std::int64_t q = 0; q < pairs; ++q)
    for (std::int64_t j = 0; j < kTileCols; ++j) {
      std::uint32_t even = 0, odd = 0;
      if (j < cols) {
        even = to_bf16(at(b, k0 + 2 * q, j0 + j));
        if (2 * q + 1 < depth) odd = to_bf16(at(b, k0 + 2 * q + 1, j0 + j));
      }
      out[q * kTileCols + j] = odd << 16 | even;
    }
}

}  // namespace

std::int64_t depth_block(std::int64_t k) {
  if (k <= 0) return 0;
  const std::int64_t blocks = (k + kTargetDepth - 1) / kTargetDepth;
  const std::int64_t depth = (k + blocks - 1) / blocks;
  return (depth + 1) / 2 * 2;
}

std::int64_t panel_count(std::int64_t k, std::int64_t n) {
  const std::int64_t block = depth_block(k);
  if (block == 0) return 0;
  return (k + block - 1) / block * ((n + kTileCols - 1) / kTileCols);
}

std::int64_t packed_words(std::int64_t k, std::int64_t n, Precision precision) {
  const std::int64_t n_padded = (n + kTileCols - 1) / kTileCols * kTileCols;
  if (precision == Precision::f32) return k * n_padded;
  // bf16: each block's depth rounded up to pairs; only the last may be odd.
  return (k + 1) / 2 * n_padded;
}

void pack_b(Operand b, std::int64_t k, std::int64_t n, Precision precision, std::int64_t first_panel,
            std::int64_t end_panel, std::uint32_t* out) {
  const PackedView view{out, k, n, depth_block(k), precision};
  const std::int64_t panels_per_block = (n + kTileCols - 1) / kTileCols;
  for (std::int64_t panel = first_panel; panel < end_panel; ++panel) {
    const std::int64_t k0 = panel / panels_per_block * view.block, j0 = panel % panels_per_block * kTileCols;
    const std::int64_t depth = std::min(view.block, k - k0), cols = std::min(kTileCols, n - j0);
    auto* words = const_cast<std::uint32_t*>(view.panel(k0, j0));
    if (precision == Precision::f32)
      pack_b_panel_f32(b, k0, depth, j0, cols, reinterpret_cast<float*>(words));
    else
      pack_b_panel_bf16(b, k0, depth, j0, cols, words);
  }
}

std::int64_t packed_a_floats(std::int64_t rows, std::int64_t depth, Precision precision) {
  const std::int64_t panels = (rows + kTileRows - 1) / kTileRows;
  const std::int64_t per_panel = precision == Precision::f32 ? depth * kTileRows : (depth + 1) / 2 * 2 * kTileRows;
  return panels * per_panel;
}

void pack_a(Operand a, std::int64_t r0, std::int64_t rows, std::int64_t k0, std::int64_t depth, Precision precision,
            float* out) {
  const std::int64_t pairs = (depth + 1) / 2;
  for (std::int64_t i0 = 0; i0 < rows; i0 += kTileRows) {
    const std::int64_t valid = std::min(kTileRows, rows - i0);
    if (precision == Precision::f32) {
      if (valid < kTileRows) std::fill_n(out, depth * kTileRows, 0.0f);
      if (a.transposed) {  // A stored (k, m): the panel's 6 values of one p are contiguous
        for (std::int64_t p = 0; p < depth; ++p)
          std::copy_n(a.data + (k0 + p) * a.ld + r0 + i0, valid, out + p * kTileRows);
      } else {
        for (std::int64_t i = 0; i < valid; ++i) {
          const float* row = a.data + (r0 + i0 + i) * a.ld + k0;
          for (std::int64_t p = 0; p < depth; ++p) out[p * kTileRows + i] = row[p];
        }
      }
      out += depth * kTileRows;
      continue;
    }
    if (valid < kTileRows) std::fill_n(out, pairs * 2 * kTileRows, 0.0f);
    for (std::int64_t i = 0; i < valid; ++i)
      for (std::int64_t q = 0; q < pairs; ++q) {
        const std::int64_t p = k0 + 2 * q;
        out[q * 2 * kTileRows + i] = 2 * q + 1 < depth ? round_to_bf16(at(a, r0 + i0 + i, p + 1)) : 0.0f;
        out[q * 2 * kTileRows + kTileRows + i] = round_to_bf16(at(a, r0 + i0 + i, p));
      }
    out += pairs * 2 * kTileRows;
  }
}

}  // namespace attograd::gemm
