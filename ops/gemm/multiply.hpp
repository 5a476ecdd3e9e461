// attograd's own GEMM: C (m, n) = start + op(A) (m, k) · op(B) (k, n), in
// fp32 or bf16 (fp32 accumulation), for every form a training step needs:
//
//   Y  = X·Wᵀ + b   multiply(p, m, n, k, {x, k}, {w, k, true}, y, n, Start::with_bias(b))
//   dX = dY·W       multiply(p, m, k, n, {dy, n}, {w, k}, dx, k)
//   dW = dYᵀ·X      multiply(p, n, k, m, {dy, n, true}, {x, k}, dw, k)
//   attention       multiply_batched(p, {B*H, S*E, T*E, S*T}, S, T, E, {q, E}, {kt, E, true}, scores, T)
//
// BLIS-style: op(A) and op(B) are packed into panels (pack.hpp) and a
// 6 x 16 register tile (kernels.hpp) runs over them. Tasks own blocks of
// output (rows x columns) and run the whole contraction for them, so each
// element of C is one chain of FMAs in contraction order from its start
// value: the bits depend on neither the thread count nor the split, the
// contraction blocking, the tile, nor the kernel chosen (portable or AVX2).
// In bf16 they equal what VDPBF16PS would compute (kernels.hpp).
//
// Work runs through `parallel` (attograd's Parallel: an executor's, or
// SerialParallel); nothing here knows TBB.
#pragma once

#include <cstdint>

#include "engine/parallel.hpp"
#include "ops/gemm/kernels.hpp"
#include "ops/gemm/packed_matrix.hpp"
#include "ops/gemm/types.hpp"

namespace attograd::gemm {

struct Options {
  Precision precision = Precision::f32;
  Isa isa = Isa::best;
};

// C (m, n; row stride ldc) = start + op(A) · op(B). op(B) is packed once per
// call (all of it, shared by every task), op(A) per task and block.
void multiply(const Parallel& parallel, std::int64_t m, std::int64_t n, std::int64_t k, Operand a, Operand b,
              float* c, std::int64_t ldc, Start start = {}, Options options = {});

// The same against op(B) packed in advance (its k, n and precision): the
// same bits as the call above with the operand it was packed from.
void multiply(const Parallel& parallel, std::int64_t m, Operand a, const PackedMatrix& b, float* c, std::int64_t ldc,
              Start start = {}, Isa isa = Isa::best);

// `batch.count` independent products of the same shape (attention's per
// head products). Tasks take whole products; each packs its own op(B).
void multiply_batched(const Parallel& parallel, Batch batch, std::int64_t m, std::int64_t n, std::int64_t k,
                      Operand a, Operand b, float* c, std::int64_t ldc, Start start = {}, Options options = {});

}  // namespace attograd::gemm
