// The vocabulary of attograd's own GEMM (ops/gemm/multiply.hpp): operands
// as stored, where C starts from, precision and batching.
#pragma once

#include <cstdint>

#include "engine/precision.hpp"

namespace attograd::gemm {

// A matrix operand as stored, row-major with row stride `ld`; the product
// reads op(X) = X, or Xᵀ when `transposed` (no copy either way). For
// C (m, n) = op(A) (m, k) · op(B) (k, n): A is stored (m, k), or (k, m)
// when transposed; B (k, n), or (n, k) when transposed.
struct Operand {
  const float* data = nullptr;
  std::int64_t ld = 0;
  bool transposed = false;
};

// What each element of C starts from before the products are added in:
// zero, C's own value (C += op(A)·op(B)), or bias[j] for every row (a
// linear layer's Y = X·Wᵀ + b). No separate zeroing or bias pass: the first
// contraction block starts from it.
struct Start {
  enum class From { zeros, c, bias } from = From::zeros;
  const float* bias = nullptr;  // (n,), for From::bias
  static Start zeros() { return {}; }
  static Start accumulate() { return {From::c, nullptr}; }
  static Start with_bias(const float* b) { return {From::bias, b}; }
};

// fp32: fp32 operands, fp32 FMAs. bf16: both operands rounded to bf16
// (round to nearest even), products accumulated in fp32 as VDPBF16PS does
// (kernels.hpp); C stays fp32. The engine's run setting, the same enum.
using Precision = attograd::Precision;

// `count` independent products; item i reads A at a.data + i * stride_a,
// B at b.data + i * stride_b and writes C at c + i * stride_c (in floats).
struct Batch {
  std::int64_t count = 1, stride_a = 0, stride_b = 0, stride_c = 0;
};

}  // namespace attograd::gemm
