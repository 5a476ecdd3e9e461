// Dropout (Srivastava et al. 2014), "inverted": in training each element is
// kept with probability 1 - p and scaled by 1 / (1 - p), so that the expected
// value is unchanged and evaluation needs no rescaling.
//
//   dropout(x, p)   x (...) -> (...), p in [0, 1)
//   training:       y = x * mask / (1 - p),  mask ~ Bernoulli(1 - p) per element
//   eval or p == 0: y = x (the input itself, no copy)
//
//   x = [1, 1, 1, 1], p = 0.5, training -> e.g. [2, 0, 0, 2]
//
// The mask is a pure function of (run seed, node label, step, element index):
// counter-based Philox random numbers. Keyed by the label (scope path + op
// name, as parameters are keyed by name), a mask does not move when a node
// is added elsewhere in the graph. Different steps give different masks;
// the same (seed, step) gives the same mask, on any number of threads.
// Forward keeps it as one bit an element (1/32 of a float tensor) for
// backward, dx = g * mask / (1 - p): remaking the Philox words cost as much
// as the forward pass itself (docs/DESIGN.md).
#pragma once

#include "engine/graph.hpp"

namespace attograd {

// Throws Error if p is outside [0, 1).
Expr dropout(Expr x, double p);

class OpRegistry;
void register_dropout_ops(OpRegistry& registry);

}  // namespace attograd
