// Attention masks: float tensors of the graph dtype, 1 = keep, 0 = masked.
//
//   subsequent_mask(g, T)         (1, T, T): 1 where key <= query (causal)
//   padding_mask(ids, pad)        ids i32 (B, S) -> (B, 1, S): 1 where ids != pad
//   masked_fill(x, mask, value)   x where mask != 0, else value; mask broadcasts
//                                 to x's shape and has x's dtype
//
//   subsequent_mask(g, 3) = [[1, 0, 0],
//                            [1, 1, 0],
//                            [1, 1, 1]]
//   padding_mask([[5, 7, 0]], 0) = [[[1, 1, 0]]]
//   masked_fill(scores (B, H, T, S), padding_mask(src, pad) unsqueezed to (B, 1, 1, S), -1e9)
//
// Masks are not differentiable. masked_fill's gradient is g where mask != 0
// and 0 at filled positions.
#pragma once

#include <cstdint>
#include <string>

#include "engine/graph.hpp"

namespace attograd {

Expr subsequent_mask(Graph& g, std::int64_t T);
Expr padding_mask(Expr ids, std::int32_t pad);
Expr masked_fill(Expr x, Expr mask, double value);

// Throws ShapeError "[op] mask ... does not broadcast to scores ..." unless
// `mask` has x's dtype and broadcasts to x's shape. For ops taking masks.
void check_mask_type(const std::string& op, const TensorType& x, const TensorType& mask);

class OpRegistry;
void register_mask_ops(OpRegistry& registry);

}  // namespace attograd
