// Single-threaded BLAS GEMMs split into fixed row blocks: the kernels under
// matmul and linear. Internal to ops/ (no BLAS header here).
//
// The split depends on the sizes only, never on the thread count, so every
// output element comes out of the same BLAS call with the same arguments on
// any number of threads: the same bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>

#include "engine/context.hpp"

namespace attograd::gemm {

// OpenBLAS's own threads would fight TBB's and change the low bits with the
// thread count: every call runs single-threaded, and TBB splits the work.
void pin_blas_to_one_thread();

// Rows per block of a product with m rows, batch_count products at once.
std::int64_t row_block(std::int64_t m, std::int64_t batch_count);

// How many consecutive blocks one task takes: enough for ~2 MFLOP a task.
std::int64_t blocks_per_task(std::int64_t rows, std::int64_t n, std::int64_t k);

// C (m, n; row stride n) = op(A) @ op(B) + beta * C, one BLAS call. op(A) is
// (m, k): A stored (m, k) with row stride lda, or (k, m) when ta.
void call(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
          const float* b, std::int64_t ldb, float beta, float* c);
void call(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,
          const double* b, std::int64_t ldb, double beta, double* c);

// Called with (first row, rows) of C just before that block's GEMM.
using BeforeBlock = std::function<void(std::int64_t row, std::int64_t rows)>;

// One product C (m, n) = op(A) @ op(B) [+ C when `before` is given: it
// writes the block's rows of C first, and the GEMM adds to them], in
// row_block(m, 1) blocks through ctx.parallel_for. Row block r0 of op(A)
// starts at row r0 of A, or at column r0 when ta: no copy either way.
template <class T>
void rows(const OpContext& ctx, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T* c, const BeforeBlock& before = {}) {
  if (m == 0 || n == 0) return;
  pin_blas_to_one_thread();
  const std::int64_t rb = row_block(m, 1), blocks = (m + rb - 1) / rb;
  ctx.parallel_for(blocks, blocks_per_task(std::min(m, rb), n, k), [&](std::int64_t lo, std::int64_t hi) {
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
