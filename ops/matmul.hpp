// Matrix product with numpy matmul batching, on OpenBLAS GEMM.
//
//   matmul(a, b)              a (..., M, K) @ b (..., K, N) -> (..., M, N)
//   matmul(a, b, true)        a holds (..., K, M): uses a's last two axes transposed
//   matmul(a, b, false, true) b holds (..., N, K): uses b's last two axes transposed
//
// Both operands have rank >= 2. The batch dims (all but the last two) broadcast
// as in numpy: (2, 1, 3, 4) @ (5, 4, 6) -> (2, 5, 3, 6). Transposes are never
// copied: they become the BLAS transpose flags.
//
//   x (B, T, D) @ w (D, F)                      -> (B, T, F)     linear layer
//   q (B, H, T, K) @ k (B, H, S, K), transpose_b -> (B, H, T, S)  attention scores
//
// Backward (g = dL/dC, C = A @ B): dA = g @ B^T, dB = A^T @ g, with the
// transposes folded into the flags; broadcast batch dims of a gradient are
// summed. Results are bit-identical for any thread count: OpenBLAS runs on one
// thread and the work is split into fixed blocks of rows.
//
// When the run asks for bf16 (RunSettings::precision, f32 values only) every
// product, forward and backward, runs on attograd's own GEMM (ops/gemm/)
// with bf16 operands and f32 accumulation; values and gradients stay f32.
#pragma once

#include "engine/graph.hpp"

namespace attograd {

Expr matmul(Expr a, Expr b, bool transpose_a = false, bool transpose_b = false);

class OpRegistry;
void register_matmul_ops(OpRegistry& registry);

}  // namespace attograd
