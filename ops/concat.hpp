// Joining and cutting tensors along one axis (any dtype: f32, f64, i32).
//
//   concat({x0, x1, ...}, axis)    every input has the same rank and the same
//                                  dims except along `axis`, where they add up
//   slice(x, axis, start, end)     elements [start, end) along `axis`,
//                                  0 <= start <= end <= x.shape[axis]
//
//   concat({(B, T, D), (B, S, D)}, 1)  -> (B, T + S, D)
//   slice((B, T, D), 1, 0, T - 1)      -> (B, T - 1, D)   (drop the last step)
//
// Backward: concat hands each input its slice of g; slice puts g back into
// a zero tensor of the input's shape.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/graph.hpp"

namespace attograd {

Expr concat(const std::vector<Expr>& xs, std::int64_t axis);
Expr slice(Expr x, std::int64_t axis, std::int64_t start, std::int64_t end);

class OpRegistry;
void register_concat_ops(OpRegistry& registry);

}  // namespace attograd
