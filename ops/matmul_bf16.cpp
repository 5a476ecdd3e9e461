// matmul's products in bf16 (RunSettings::precision = bf16): attograd's own
// GEMM (ops/gemm/) with both operands rounded to bf16 (nearest even) as they
// are packed and the products accumulated in f32; out stays f32.
//
// The attention products, (B, H, T, K) @ (B, H, K, S) and the like, step
// through their batch with one stride per operand: one multiply_batched
// call, whose tasks take whole (head) products, each packing its own B
// once. Batch dims that broadcast in a way no single stride describes
// ((2, 1, 3, 4) @ (5, 4, 6)) run one product after another, each split
// over the threads. Blocks depend on the sizes only: the same bits on any
// thread count and on the sequential executor.
#include "ops/gemm/multiply.hpp"
#include "ops/matmul_operand.hpp"

namespace attograd::matmul_detail {
namespace {

// The one stride s with batch_offset(i) = i * s for every batch entry i,
// if there is one.
bool single_stride(const Shape& batch, const Shape& strides, std::int64_t& stride) {
  const std::int64_t count = numel(batch);
  stride = count > 1 ? batch_offset(1, batch, strides) : 0;
  for (std::int64_t i = 2; i < count; ++i)
    if (batch_offset(i, batch, strides) != i * stride) return false;
  return true;
}

}  // namespace

void batched_gemm_bf16(const Parallel& parallel, const Operand<float>& x, const Operand<float>& y, float* out,
                       const Shape& batch) {
  const std::int64_t m = x.op_rows(), k = x.op_cols(), n = y.op_cols(), count = numel(batch);
  if (count == 0 || m == 0 || n == 0) return;
  // op(X) (m, k) from X stored (rows, cols): row stride cols either way.
  const gemm::Operand a{x.data, x.cols, x.trans}, b{y.data, y.cols, y.trans};
  const gemm::Options bf16{.precision = Precision::bf16};
  std::int64_t stride_a = 0, stride_b = 0;
  if (single_stride(batch, x.strides, stride_a) && single_stride(batch, y.strides, stride_b)) {
    gemm::multiply_batched(parallel, {count, stride_a, stride_b, m * n}, m, n, k, a, b, out, n, gemm::Start::zeros(),
                           bf16);
    return;
  }
  for (std::int64_t i = 0; i < count; ++i) {
    gemm::Operand a_i = a, b_i = b;
    a_i.data += batch_offset(i, batch, x.strides);
    b_i.data += batch_offset(i, batch, y.strides);
    gemm::multiply(parallel, m, n, k, a_i, b_i, out + i * m * n, n, gemm::Start::zeros(), bf16);
  }
}

}  // namespace attograd::matmul_detail
