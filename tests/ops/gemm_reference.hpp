// What the tests of attograd's own GEMM (ops/gemm/) compare it with:
// operands stored in either form, the one-FMA-chain model of an element
// written out as plainly as possible, and a double-precision sum.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ops/gemm/bf16.hpp"
#include "ops/gemm/types.hpp"

namespace attograd::testing {

// op(X) (rows, cols) stored row-major, as X or transposed, with a row stride
// 3 longer than needed (so the code under test must honour ld).
struct StoredMatrix {
  std::int64_t rows, cols;
  bool transposed;
  std::vector<float> values;
  std::int64_t ld() const { return (transposed ? rows : cols) + 3; }
  float at(std::int64_t r, std::int64_t c) const {
    return transposed ? values[std::size_t(c * ld() + r)] : values[std::size_t(r * ld() + c)];
  }
  gemm::Operand operand() const { return {values.data(), ld(), transposed}; }

  StoredMatrix(std::int64_t r, std::int64_t c, bool t, std::uint64_t seed) : rows(r), cols(c), transposed(t) {
    values.assign(std::size_t((t ? c : r) * ld() + 1), 0.0f);
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float& v : values) v = u(rng);
  }
};

// The start value of C's element (i, j) for a gemm::Start.
inline float start_value(const gemm::Start& s, const std::vector<float>& c, std::int64_t ldc, std::int64_t i,
                         std::int64_t j) {
  if (s.from == gemm::Start::From::bias) return s.bias[j];
  if (s.from == gemm::Start::From::c) return c[std::size_t(i * ldc + j)];
  return 0.0f;
}

// fp32 contract: one FMA chain in contraction order from the start value.
inline std::vector<float> chain_f32(const StoredMatrix& a, const StoredMatrix& b, const std::vector<float>& c,
                                    std::int64_t ldc, gemm::Start s) {
  std::vector<float> out = c;
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < b.cols; ++j) {
      float acc = start_value(s, c, ldc, i, j);
      for (std::int64_t p = 0; p < a.cols; ++p) acc = std::fma(a.at(i, p), b.at(p, j), acc);
      out[std::size_t(i * ldc + j)] = acc;
    }
  return out;
}

// VDPBF16PS's FP32 FMA, spelled out: denormal inputs read as zero of their
// sign, the fused multiply-add rounded to nearest, a denormal result
// flushed to zero of its sign. (Call under the default MXCSR.)
inline float flush_denormal(float x) {
  return std::fpclassify(x) == FP_SUBNORMAL ? std::copysign(0.0f, x) : x;
}
inline float dpbf16_fma(float a, float b, float acc) {
  return flush_denormal(std::fma(flush_denormal(a), flush_denormal(b), flush_denormal(acc)));
}

// bf16 contract: both operands rounded to bf16; per pair of the
// contraction the odd element first, then the even one.
inline std::vector<float> chain_bf16(const StoredMatrix& a, const StoredMatrix& b, const std::vector<float>& c,
                                     std::int64_t ldc, gemm::Start s) {
  std::vector<float> out = c;
  const std::int64_t k = a.cols;
  auto bf = [](float x) { return gemm::round_to_bf16(x); };
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < b.cols; ++j) {
      float acc = start_value(s, c, ldc, i, j);
      for (std::int64_t p = 0; p < k; p += 2) {
        const bool odd = p + 1 < k;
        acc = dpbf16_fma(odd ? bf(a.at(i, p + 1)) : 0.0f, odd ? bf(b.at(p + 1, j)) : 0.0f, acc);
        acc = dpbf16_fma(bf(a.at(i, p)), bf(b.at(p, j)), acc);
      }
      out[std::size_t(i * ldc + j)] = acc;
    }
  return out;
}

// Exact-ish value (double sums) and the scale sum |start| + Σ|a||b| that
// error bounds multiply.
struct DoubleProduct {
  std::vector<double> value, scale;
};
inline DoubleProduct product_in_double(const StoredMatrix& a, const StoredMatrix& b, const std::vector<float>& c,
                                       std::int64_t ldc, gemm::Start s) {
  DoubleProduct out{std::vector<double>(c.size()), std::vector<double>(c.size())};
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < b.cols; ++j) {
      const double start = start_value(s, c, ldc, i, j);
      double sum = start, scale = std::abs(start);
      for (std::int64_t p = 0; p < a.cols; ++p) {
        sum += double(a.at(i, p)) * double(b.at(p, j));
        scale += std::abs(double(a.at(i, p)) * double(b.at(p, j)));
      }
      out.value[std::size_t(i * ldc + j)] = sum;
      out.scale[std::size_t(i * ldc + j)] = scale;
    }
  return out;
}

inline bool same_bits(const std::vector<float>& x, const std::vector<float>& y) {
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (std::bit_cast<std::uint32_t>(x[i]) != std::bit_cast<std::uint32_t>(y[i])) return false;
  return true;
}

}  // namespace attograd::testing
