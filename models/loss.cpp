#include "models/loss.hpp"

#include "ops/cross_entropy.hpp"

namespace attograd {

Expr label_smoothed_loss(Expr logits, Expr targets, std::int32_t pad, double eps) {
  auto s = logits.graph->scope("loss");
  return cross_entropy(logits, targets, pad, eps, Reduction::mean);
}

}  // namespace attograd
