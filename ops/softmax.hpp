// Softmax family over one axis, numerically stable for any finite logits.
//
//   softmax(x, axis)            y = exp(x - max) / sum(exp(x - max))
//   log_softmax(x, axis)        y = x - max - log(sum(exp(x - max)))
//   masked_softmax(x, m, axis)  softmax over the positions where m != 0; the
//                               others get probability 0
//
// Each takes an optional scale s (default 1): the op then runs on x * s,
// rounded to x's dtype first, exactly as scale(x, s) followed by the op would
// (attention's scores q kᵀ / sqrt(K): one node and one pass fewer, the same
// bits).
//
// x (..., n, ...) -> same shape; the axis is usually the last one:
//   scores (B, H, T, S), mask (B, 1, 1, S) or (1, T, S)  -> weights (B, H, T, S)
// The mask is a float tensor of x's dtype (1 = keep, 0 = masked) that
// broadcasts to x's shape; it gets no gradient. A row whose positions are all
// masked gives all zeros and a zero gradient, never NaN.
//
// Backward (g = dL/dy, sums along the axis):
//   softmax, masked_softmax:  dx = y * (g - sum(g * y))
//   log_softmax:              dx = g - exp(y) * sum(g)
//   with a scale s:           dx = s * (the above), rounded before the product
#pragma once

#include <cstdint>

#include "engine/graph.hpp"

namespace attograd {

Expr softmax(Expr x, std::int64_t axis = -1, double scale = 1.0);
Expr log_softmax(Expr x, std::int64_t axis = -1, double scale = 1.0);
Expr masked_softmax(Expr x, Expr mask, std::int64_t axis = -1, double scale = 1.0);

class OpRegistry;
void register_softmax_ops(OpRegistry& registry);

}  // namespace attograd
