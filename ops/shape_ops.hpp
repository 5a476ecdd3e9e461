// Ops that move elements without arithmetic.
//
//   reshape(x, shape)        same elements, new shape; one entry may be -1
//   permute(x, perm)         out.shape[i] = x.shape[perm[i]]
//   transpose(x, a, b)       swaps axes a and b (a permute)
//
// Backward: reshape back; permute by the inverse permutation.
#pragma once

#include <vector>

#include "engine/graph.hpp"

namespace attograd {

Expr reshape(Expr x, Shape shape);
Expr permute(Expr x, std::vector<std::int64_t> perm);
Expr transpose(Expr x, std::int64_t a = -2, std::int64_t b = -1);

class OpRegistry;
void register_shape_ops(OpRegistry& registry);

}  // namespace attograd
