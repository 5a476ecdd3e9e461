// Single-threaded BLAS GEMMs split into fixed row blocks: the kernels under
// matmul and linear. Internal to ops/ (no BLAS header here).
//
// The split depends on the sizes only, never on the thread count, so every
// output element comes out of the same BLAS calls with the same arguments on
// any number of threads (one call; two and an add for split_contraction's
// long weight-gradient contractions): the same bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>

#include "engine/context.hpp"
#include "engine/dtype.hpp"
#include "engine/tensor.hpp"

namespace attograd::gemm {

// OpenBLAS's own threads would fight TBB's and change the low bits with the
// thread count: every call runs single-threaded, and TBB splits the work.
void pin_blas_to_one_thread();

// Rows per block of a product with m rows, batch_count products at once.
std::int64_t row_block(std::int64_t m, std::int64_t batch_count);

// How many consecutive blocks (of `blocks`, `rows` x n x k each) one task
// takes: enough for ~2 MFLOP a task, but no fewer than 8 tasks where there
// are 8 blocks, so an idle worker finds work to take from a descheduled one.
std::int64_t blocks_per_task(std::int64_t blocks, std::int64_t rows, std::int64_t n, std::int64_t k);

// C (m, n; row stride n) = op(A) @ op(B) + beta * C, one BLAS call. op(A) is
// (m, k): A stored (m, k) with row stride lda, or (k, m) when ta.
void call(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
          const float* b, std::int64_t ldb, float beta, float* c);
void call(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,
          const double* b, std::int64_t ldb, double beta, double* c);

// Called with (first row, rows) of C just before that block's GEMM.
using BeforeBlock = std::function<void(std::int64_t row, std::int64_t rows)>;

// A product C = Aᵀ @ B whose contraction is at least this long (a weight
// gradient dW = gᵀ x, contracted over the batch's tokens) is cut along the
// contraction instead of into row blocks; see split_contraction.
constexpr std::int64_t kSplitContraction = 1024;

// The plan of such a product: two contraction ranges, the first of
// `first_half` rows of A and B, the second the rest, times output row blocks
// of `rows_per_block`. Sizes only, never the thread count.
struct ContractionSplit {
  std::int64_t first_half, rows_per_block;
};
ContractionSplit contraction_split(std::int64_t m, std::int64_t k);

// C (m, n) = Aᵀ @ B, A stored (k, m) with row stride lda, B (k, n) with
// stride ldb, k >= kSplitContraction. Row blocks of C would each repack all
// of B (OpenBLAS copies its operands into panels per call): for the tiny
// configuration's dW (128 x 128, 1024 tokens) four 32-row blocks ran at
// 56-68 GFLOP/s, two contraction halves at 64-76, one whole call at 66-80.
// So each task computes a whole block of C over one half of the tokens:
// the first half straight into C, the second into a scratch tensor, then
// C += scratch, elementwise. Every element is (first-half GEMM) + (second-
// half GEMM) on any thread count: the same bits.
template <class T>
void split_contraction(const OpContext& ctx, std::int64_t m, std::int64_t n, std::int64_t k, const T* a,
                       std::int64_t lda, const T* b, std::int64_t ldb, T* c) {
  const ContractionSplit plan = contraction_split(m, k);
  const std::int64_t blocks = (m + plan.rows_per_block - 1) / plan.rows_per_block;
  Tensor second = Tensor::empty(dtype_of<T>(), {m, n});
  T* scratch = second.data<T>();
  // Task 2b + p: row block b, contraction part p (0 writes C, 1 the scratch).
  ctx.parallel_for(blocks * 2, 1, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t task = lo; task < hi; ++task) {
      const std::int64_t part = task % 2, r0 = task / 2 * plan.rows_per_block;
      const std::int64_t rows = std::min(plan.rows_per_block, m - r0);
      const std::int64_t k0 = part == 0 ? 0 : plan.first_half, depth = part == 0 ? plan.first_half : k - k0;
      call(true, false, rows, n, depth, a + k0 * lda + r0, lda, b + k0 * ldb, ldb, T(0),
           (part == 0 ? c : scratch) + r0 * n);
    }
  });
  const std::int64_t total = m * n, grain = 1 << 14;
  ctx.parallel_for((total + grain - 1) / grain, 1, [&](std::int64_t lo, std::int64_t hi) {
    const std::int64_t end = std::min(hi * grain, total);
    for (std::int64_t i = lo * grain; i < end; ++i) c[i] += scratch[i];
  });
}

// One product C (m, n) = op(A) @ op(B) [+ C when `before` is given: it
// writes the block's rows of C first, and the GEMM adds to them], in
// row_block(m, 1) blocks through ctx.parallel_for (or split_contraction's
// plan for Aᵀ @ B with a long contraction). Row block r0 of op(A)
// starts at row r0 of A, or at column r0 when ta: no copy either way.
template <class T>
void rows(const OpContext& ctx, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T* c, const BeforeBlock& before = {}) {
  if (m == 0 || n == 0) return;
  pin_blas_to_one_thread();
  if (ta && !tb && !before && k >= kSplitContraction) return split_contraction(ctx, m, n, k, a, lda, b, ldb, c);
  const std::int64_t rb = row_block(m, 1), blocks = (m + rb - 1) / rb;
  ctx.parallel_for(blocks, blocks_per_task(blocks, std::min(m, rb), n, k), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t block = lo; block < hi; ++block) {
      const std::int64_t r0 = block * rb, count = std::min(rb, m - r0);
      T* c_rows = c + r0 * n;
      if (before) before(r0, count);
      if (k == 0) {
        if (!before) std::fill_n(c_rows, count * n, T(0));
        continue;
      }
      call(ta, tb, count, n, k, a + (ta ? r0 : r0 * lda), lda, b, ldb, before ? T(1) : T(0), c_rows);
    }
  });
}

}  // namespace attograd::gemm
