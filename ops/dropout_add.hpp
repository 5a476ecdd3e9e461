// Dropout on a sublayer's output added to the residual stream, in one op:
// the Transformer's sublayer connection x + dropout(f(x)).
//
//   dropout_add(a, b, p)   a, b (...) of one shape and dtype -> (...), p in [0, 1)
//   training:              y = a + b * mask / (1 - p),  mask ~ Bernoulli(1 - p)
//   eval or p == 0:        y = a + b
//
//   a = [1, 1, 1, 1], b = [1, 2, 3, 4], p = 0.5, training -> e.g. [3, 1, 1, 9]
//
// The same floats as a + dropout(b, p) (b * mask / (1 - p) is rounded, then
// added to a), with the same mask: it is keyed by the node's label read with
// "dropout" for "dropout_add" ("encoder.layers.0.dropout_add_1" draws the mask
// of "encoder.layers.0.dropout_1"; ops/dropout.hpp). Its nodes are numbered
// with dropout's (Op::label_family), so a scope mixing both ops still gives
// every node a mask of its own, and a scope that used a + dropout(b) gets
// the same masks from dropout_add.
//
// Backward (g = dL/dy): da = g, db = g * mask / (1 - p), the mask kept from
// forward as one bit an element.
#pragma once

#include "engine/graph.hpp"

namespace attograd {

// Throws Error if p is outside [0, 1); ShapeError if a and b differ in shape or dtype.
Expr dropout_add(Expr a, Expr b, double p);

class OpRegistry;
void register_dropout_add_ops(OpRegistry& registry);

}  // namespace attograd
