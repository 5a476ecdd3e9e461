#include "ops/gemm/packed_matrix.hpp"

#include <algorithm>

namespace attograd::gemm {
namespace {

// Panels per packing task: ~64 KB of B read (16 panels of 256 x 16 floats).
constexpr std::int64_t kPanelsPerTask = 16;

}  // namespace

void pack_b_parallel(const Parallel& parallel, Operand b, std::int64_t k, std::int64_t n, Precision precision,
                     std::uint32_t* out) {
  const std::int64_t panels = panel_count(k, n);
  if (panels == 0) return;
  parallel.parallel_for(panels, kPanelsPerTask, [&](std::int64_t lo, std::int64_t hi) {
    pack_b(b, k, n, precision, lo, hi, out);
  });
}

PackedMatrix::PackedMatrix(const Parallel& parallel, std::int64_t k, std::int64_t n, Operand b, Precision precision,
                           std::uint64_t generation)
    : storage_(Tensor::empty(DType::f32, {std::max<std::int64_t>(1, packed_words(k, n, precision))})),
      k_(k),
      n_(n),
      precision_(precision),
      transposed_(b.transposed) {
  repack(parallel, b, generation);
}

void PackedMatrix::repack(const Parallel& parallel, Operand b, std::uint64_t generation) {
  pack_b_parallel(parallel, b, k_, n_, precision_, reinterpret_cast<std::uint32_t*>(storage_.data<float>()));
  transposed_ = b.transposed;
  generation_ = generation;
}

PackedView PackedMatrix::view() const {
  return {reinterpret_cast<const std::uint32_t*>(storage_.data<float>()), k_, n_, depth_block(k_), precision_};
}

}  // namespace attograd::gemm
