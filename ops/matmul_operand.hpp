// matmul's view of one factor of a batched product (internal to ops/:
// matmul.cpp and matmul_bf16.cpp).
//
//   a (2, 1, 3, 4) in a product with batch (2, 5): rows 3, cols 4,
//   strides (12, 0): entry (i, j) of the batch starts at i * 12 + j * 0.
#pragma once

#include <cstdint>
#include <utility>

#include "engine/parallel.hpp"
#include "engine/shape.hpp"
#include "engine/tensor.hpp"

namespace attograd::matmul_detail {

// A stack of row-major matrices of rows x cols, used as X or (trans) Xᵀ;
// `strides` step through the stack along the product's batch axes (0 on
// a broadcast axis).
template <class T>
struct Operand {
  const T* data;
  std::int64_t rows, cols;
  bool trans;
  Shape strides;
  std::int64_t op_rows() const { return trans ? cols : rows; }
  std::int64_t op_cols() const { return trans ? rows : cols; }
};

template <class T>
Operand<T> operand(const Tensor& t, bool trans, const Shape& batch) {
  const Shape& s = t.shape();
  const std::int64_t rows = s[s.size() - 2], cols = s[s.size() - 1];
  Shape strides = broadcast_strides(Shape(s.begin(), s.end() - 2), batch);
  for (auto& v : strides) v *= rows * cols;
  return {t.data<T>(), rows, cols, trans, std::move(strides)};
}

// Offset of batch entry `index` (row-major over `batch`) in an operand.
inline std::int64_t batch_offset(std::int64_t index, const Shape& batch, const Shape& strides) {
  std::int64_t offset = 0;
  for (std::size_t d = batch.size(); d-- > 0;) {
    offset += (index % batch[d]) * strides[d];
    index /= batch[d];
  }
  return offset;
}

// out (batch..., M, N) = op(x) @ op(y) with bf16 operands and f32
// accumulation, on attograd's own GEMM (matmul_bf16.cpp).
void batched_gemm_bf16(const Parallel& parallel, const Operand<float>& x, const Operand<float>& y, float* out,
                       const Shape& batch);

}  // namespace attograd::matmul_detail
