// Small graph builders every model is made of. Each creates its parameters
// in the graph's current scope, with PyTorch's names and layouts, so that
//   { auto s = g.scope("q_proj"); y = linear(x, D); }
// creates "q_proj.weight" (D, D_in) and "q_proj.bias" (D,).
#pragma once

#include <cstdint>

#include "engine/graph.hpp"

namespace attograd {

// x (..., D_in) -> (..., out) = x W^T + b, W (out, D_in) Xavier-uniform, b zeros.
Expr linear(Expr x, std::int64_t out_features, bool bias = true);

// LayerNorm over the last axis with parameters "weight" (ones) and "bias"
// (zeros) of shape (D,), as torch.nn.LayerNorm names them.
Expr layer_norm(Expr x, double eps = 1e-5);

enum class Activation { relu, gelu };

// Position-wise feed-forward: linear(F) -> activation -> dropout -> linear(D),
// in scopes "linear1" and "linear2" (torch.nn.TransformerEncoderLayer's names).
// x (B, T, D) -> (B, T, D).
Expr feed_forward(Expr x, std::int64_t d_ff, Activation activation, double dropout);

// Token embedding scaled by sqrt(D): ids i32 (B, T) -> (B, T, D); the table
// "weight" (V, D) lives in the current scope.
Expr token_embedding(Expr ids, std::int64_t vocab, std::int64_t d_model);

// The sinusoidal positional encoding of "Attention Is All You Need" as a
// constant (1, T, D): PE[t, 2i] = sin(t / 10000^(2i/D)), PE[t, 2i+1] = cos(...),
// for positions t = first .. first + T - 1 (an incremental decoder's step
// at position t takes positional_encoding(g, 1, D, t)). Positions end at
// kMaxPositions - 1: attention over more is quadratic in memory (a (T, T)
// score matrix per head), so longer sequences are refused with a ShapeError.
constexpr std::int64_t kMaxPositions = 1024;
Expr positional_encoding(Graph& g, std::int64_t length, std::int64_t d_model, std::int64_t first = 0);

}  // namespace attograd
