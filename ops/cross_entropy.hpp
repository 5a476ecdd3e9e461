// Cross-entropy of logits against integer targets, with label smoothing:
// log_softmax and the negative log-likelihood fused into one op, so that it
// is stable for any logits and never builds the smoothed target matrix.
//
//   cross_entropy(logits, targets)   logits (N, V) or (B, T, V)
//                                    targets i32 (N) or (B, T)  ->  loss ()
//   smoothed target (PyTorch's definition): q = (1 - eps) onehot(target) + eps / V
//   loss_i = -sum_v q_v log_softmax(logits_i)_v
//   reduction mean: sum_i loss_i / (number of counted tokens), 0 if none
//   reduction sum:  sum_i loss_i
// Tokens whose target == ignore_index contribute nothing (and are not
// counted). eps = 0 is plain cross-entropy. A target outside [0, V) that is
// not ignore_index is an error naming it, its position and V.
//
//   logits [[0, ln 2, ln 3]], targets [2] -> softmax [1/6, 2/6, 3/6], loss ln 2
//
// Backward: dlogits_i = g * (softmax(logits_i) - q_i) / count (mean) or
// g * (softmax - q) (sum); 0 for ignored tokens. targets get no gradient.
#pragma once

#include <cstdint>

#include "engine/graph.hpp"

namespace attograd {

enum class Reduction { mean, sum };

Expr cross_entropy(Expr logits, Expr targets, std::int64_t ignore_index = -100, double label_smoothing = 0.0,
                   Reduction reduction = Reduction::mean);

class OpRegistry;
void register_cross_entropy_ops(OpRegistry& registry);

}  // namespace attograd
