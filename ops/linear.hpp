// The affine map of a linear layer as one op, as torch.nn.functional.linear:
//
//   linear(x, w, b)    x (..., K), w (N, K), b (N) -> y (..., N) = x @ w^T + b
//
// Forward writes b into each block of output rows and lets the GEMM add
// x @ w^T to it (beta = 1): no separate pass over the output for the bias,
// and no (..., N) temporary. Backward with g = dL/dy as (M, N), M = rows of x:
//   dx = g @ w  (M, K)      dw = g^T @ x  (N, K)      db = sum of g's rows (N)
// on the same row-blocked GEMMs as matmul (ops/gemm.hpp): the same bits on
// any thread count. Op::cost reports the GEMM flops only (2*M*N*K forward,
// twice that backward), as matmul does, so a model's GEMM flops add up the
// same with either.
//
// When the run asks for bf16 (RunSettings::precision, f32 values only) the
// three products run on attograd's own GEMM (ops/gemm/) with bf16 operands
// and f32 accumulation; y, dx, dw and db stay f32 (db is an f32 sum).
#pragma once

#include "engine/graph.hpp"

namespace attograd {

Expr linear(Expr x, Expr weight, Expr bias);

class OpRegistry;
void register_linear_ops(OpRegistry& registry);

}  // namespace attograd
