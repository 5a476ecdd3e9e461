// Layer normalisation over the last axis (Ba, Kiros & Hinton 2016), as
// PyTorch's LayerNorm: biased variance, eps inside the square root.
//
//   x (..., D), gain (D), bias (D) -> y (..., D)
//   mean = sum_d x_d / D     var = sum_d (x_d - mean)^2 / D
//   y = (x - mean) / sqrt(var + eps) * gain + bias
//
//   x (2, 3) = [[1, 2, 3], [5, 5, 5]], gain = 1, bias = [0, 0, 7]
//   -> [[-1.2247, 0, 8.2247], [0, 0, 7]]    (a constant row gives the bias)
//
// Backward gives dx, dgain = sum over rows of g * xhat and dbias = sum over
// rows of g; the row sums are deterministic for any thread count.
#pragma once

#include "engine/graph.hpp"

namespace attograd {

Expr layer_norm(Expr x, Expr gain, Expr bias, double eps = 1e-5);

class OpRegistry;
void register_layer_norm_ops(OpRegistry& registry);

}  // namespace attograd
