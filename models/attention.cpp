#include "models/attention.hpp"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "models/layers.hpp"
#include "ops/dropout.hpp"
#include "ops/elementwise.hpp"
#include "ops/matmul.hpp"
#include "ops/shape_ops.hpp"
#include "ops/softmax.hpp"

namespace attograd {

Attention scaled_dot_product_attention(Expr q, Expr k_t, Expr v, Expr mask, double p) {
  const double k = static_cast<double>(q.dim(-1));
  Expr scores = scale(matmul(q, k_t), 1.0 / std::sqrt(k));  // (B,H,T,S)
  Expr weights = masked_softmax(scores, mask, -1);
  return {matmul(dropout(weights, p), v), weights};          // (B,H,T,K)
}

Attention multi_head_attention(Expr query, Expr key_value, Expr mask, std::int64_t heads, double p) {
  Graph& g = *query.graph;
  const std::int64_t b = query.dim(0), t = query.dim(1), d = query.dim(2), s = key_value.dim(1);
  if (heads <= 0 || d % heads != 0)
    throw ShapeError(fmt::format("[multi_head_attention] d_model {} is not divisible by {} heads", d, heads));
  const std::int64_t k = d / heads;
  auto project = [&](const char* name, Expr x) {
    auto scope = g.scope(name);
    return linear(x, d);
  };
  // (B,T,D) -> (B,T,H,K) -> (B,H,T,K); keys to (B,H,K,S).
  Expr q = permute(reshape(project("q_proj", query), {b, t, heads, k}), {0, 2, 1, 3});
  Expr k_t = permute(reshape(project("k_proj", key_value), {b, s, heads, k}), {0, 2, 3, 1});
  Expr v = permute(reshape(project("v_proj", key_value), {b, s, heads, k}), {0, 2, 1, 3});
  // Insert the head axis into the mask: (B', T', S) -> (B', 1, T', S).
  if (mask.rank() == 3) mask = reshape(mask, {mask.dim(0), 1, mask.dim(1), mask.dim(2)});
  Attention a = scaled_dot_product_attention(q, k_t, v, mask, p);
  Expr merged = reshape(permute(a.output, {0, 2, 1, 3}), {b, t, d});
  auto scope = g.scope("out_proj");
  return {linear(merged, d), a.weights};
}

}  // namespace attograd
