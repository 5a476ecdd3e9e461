// A B operand packed once into the micro-kernels' panels, for products that
// reuse it: a weight W read by every row block of every task of a step.
//
//   // a linear layer's forward Y = X·Wᵀ + b, W stored (n_out, k_in):
//   PackedMatrix w_t(parallel, k_in, n_out, {w, k_in, /*transposed=*/true}, Precision::f32, step);
//   multiply(parallel, m, {x, k_in}, w_t, y, n_out, Start::with_bias(b));
//   // the next step, same weight, new values: same storage
//   w_t.repack(parallel, {w, k_in, true}, step + 1);
//
// A packing serves one form: op(B) with a contraction over k. The input
// gradient dX = dY·W contracts W over n_out, and panels are contiguous
// along the contraction, so it needs its own PackedMatrix of W (not
// transposed): two packings of a weight per step, each shared by all tasks.
#pragma once

#include <cstdint>

#include "engine/parallel.hpp"
#include "engine/tensor.hpp"
#include "ops/gemm/pack.hpp"
#include "ops/gemm/types.hpp"

namespace attograd::gemm {

class PackedMatrix {
 public:
  PackedMatrix() = default;
  // Packs op(B) (k, n) of `b` (stored (k, n), or (n, k) when b.transposed)
  // in `precision` (bf16: rounded to nearest even), panels split over
  // `parallel`. `generation` is the caller's tag for the values packed
  // (e.g. the optimizer step that last wrote the weight).
  PackedMatrix(const Parallel& parallel, std::int64_t k, std::int64_t n, Operand b, Precision precision,
               std::uint64_t generation = 0);

  // Packs new values of the same shape and form into the same storage. Not
  // while a product reads this packing.
  void repack(const Parallel& parallel, Operand b, std::uint64_t generation);

  std::int64_t k() const { return k_; }
  std::int64_t n() const { return n_; }
  Precision precision() const { return precision_; }
  bool transposed() const { return transposed_; }  // the form packed: op(B) = Bᵀ
  std::uint64_t generation() const { return generation_; }
  bool empty() const { return k_ == 0 || n_ == 0; }

  PackedView view() const;

 private:
  Tensor storage_;  // packed_words(k, n) 4-byte words, 64-byte aligned (engine pool)
  std::int64_t k_ = 0, n_ = 0;
  Precision precision_ = Precision::f32;
  bool transposed_ = false;
  std::uint64_t generation_ = 0;
};

// Packs op(B) into `out` (packed_words(k, n, precision) words, 64-byte
// aligned) with the panels split over `parallel`: what PackedMatrix does,
// for a caller's own buffer.
void pack_b_parallel(const Parallel& parallel, Operand b, std::int64_t k, std::int64_t n, Precision precision,
                     std::uint32_t* out);

}  // namespace attograd::gemm
