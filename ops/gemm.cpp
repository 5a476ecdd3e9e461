// Never include xtensor-blas here: its bundled cblas declarations clash
// with OpenBLAS's <cblas.h>.
#include "ops/gemm.hpp"

#include <cblas.h>

#include <algorithm>
#include <mutex>

// Declared here rather than trusted to <cblas.h>: netlib's header lacks it.
extern "C" void openblas_set_num_threads(int);

namespace attograd::gemm {
namespace {

// Fixed blocks of output rows, grouped so one task does >= kTaskFlops, into
// at least kMinTasks tasks where there are that many blocks. A single product
// with few rows (the copy task's 300-row linears) gets smaller blocks, about
// 8 of them, so both cores have work.
constexpr std::int64_t kRowBlock = 128, kMinRowBlock = 32;
constexpr double kTaskFlops = 2e6;
// A worker descheduled by another process (a shared machine) keeps the task
// it holds: with 2 tasks a product waits for it, with 8 the other worker
// takes the rest and waits at most for one eighth. Grouping never changes
// the blocks, only which thread runs them: the same bits.
constexpr std::int64_t kMinTasks = 8;

}  // namespace

void pin_blas_to_one_thread() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

std::int64_t row_block(std::int64_t m, std::int64_t batch_count) {
  if (batch_count > 1) return kRowBlock;  // the batch gives the parallelism
  const std::int64_t eighth = (m + 7) / 8;
  return std::clamp((eighth + 15) / 16 * 16, kMinRowBlock, kRowBlock);
}

ContractionSplit contraction_split(std::int64_t m, std::int64_t k) {
  // The first half rounded up to 16 rows; blocks of C up to 1024 rows keep B's
  // repacking (once per block and half) small next to the block's flops.
  constexpr std::int64_t kMaxRows = 1024;
  const std::int64_t first_half = ((k + 1) / 2 + 15) / 16 * 16;
  const std::int64_t blocks = (m + kMaxRows - 1) / kMaxRows;
  return {first_half, (m + blocks - 1) / blocks};
}

std::int64_t blocks_per_task(std::int64_t blocks, std::int64_t rows, std::int64_t n, std::int64_t k) {
  const double block_flops = 2.0 * double(rows) * double(n) * double(k);
  const auto for_flops = std::max<std::int64_t>(1, std::int64_t(kTaskFlops / std::max(block_flops, 1.0)));
  return std::min(for_flops, std::max<std::int64_t>(1, blocks / kMinTasks));
}

void call(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
          const float* b, std::int64_t ldb, float beta, float* c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              1.0f, a, int(lda), b, int(ldb), beta, c, int(n));
}
void call(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const double* a, std::int64_t lda,
          const double* b, std::int64_t ldb, double beta, double* c) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
              1.0, a, int(lda), b, int(ldb), beta, c, int(n));
}

}  // namespace attograd::gemm
