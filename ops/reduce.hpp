// Reductions over axes.
//
//   sum(x, {axes}, keepdims=false)    axes empty: all axes -> a scalar ()
//   mean(x, {axes}, keepdims=false)   sum / (number of reduced elements)
//   x (2, 3, 4), axes {1}  -> (2, 4), or (2, 1, 4) with keepdims
//
// Backward: dL/dx = g broadcast back over the reduced axes (mean: / count).
// Forward adds in row-major order on one thread: deterministic for any
// thread count.
#pragma once

#include <vector>

#include "engine/graph.hpp"

namespace attograd {

Expr sum(Expr x, std::vector<std::int64_t> axes = {}, bool keepdims = false);
Expr mean(Expr x, std::vector<std::int64_t> axes = {}, bool keepdims = false);

class OpRegistry;
void register_reduce_ops(OpRegistry& registry);

}  // namespace attograd
