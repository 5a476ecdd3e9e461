// Reductions over axes.
//
//   sum(x, {axes}, keepdims=false)    axes empty: all axes -> a scalar ()
//   mean(x, {axes}, keepdims=false)   sum / (number of reduced elements)
//   max(x, {axes}, keepdims=false)    largest element; NaN if the group holds one
//   x (2, 3, 4), axes {1}  -> (2, 4), or (2, 1, 4) with keepdims
//
// Backward: dL/dx = g broadcast back over the reduced axes (mean: / count);
// for max, g goes to the first maximum of each group in row-major order
// (ties: the lowest index) and every other element gets 0.
//   max([[1, 3, 3], [2, 0, 1]], {1}) = [3, 2];  dx = [[0, g0, 0], [g1, 0, 0]]
// Sum and mean add in row-major order on one thread, max scans each group in
// row-major order: deterministic for any thread count.
#pragma once

#include <vector>

#include "engine/graph.hpp"

namespace attograd {

Expr sum(Expr x, std::vector<std::int64_t> axes = {}, bool keepdims = false);
Expr mean(Expr x, std::vector<std::int64_t> axes = {}, bool keepdims = false);
Expr max(Expr x, std::vector<std::int64_t> axes = {}, bool keepdims = false);

class OpRegistry;
void register_reduce_ops(OpRegistry& registry);

}  // namespace attograd
