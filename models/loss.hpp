// The label-smoothed loss of "Attention Is All You Need" §5.4.
//
// logits (B, T, V), targets i32 (B, T) -> scalar: mean over non-pad tokens of
//   -sum_v q_v log softmax(logits)_v,  q = (1 - eps) onehot(target) + eps / V
// (PyTorch's label_smoothing). Pad targets contribute nothing; eps = 0 is
// plain cross-entropy. One fused op: the smoothed targets are never stored.
#pragma once

#include <cstdint>

#include "engine/graph.hpp"

namespace attograd {

Expr label_smoothed_loss(Expr logits, Expr targets, std::int32_t pad, double eps);

}  // namespace attograd
