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
  Expr weights = mask.defined() ? masked_softmax(scores, mask, -1) : softmax(scores, -1);
  return {matmul(dropout(weights, p), v), weights};          // (B,H,T,K)
}

namespace {

void check_heads(std::int64_t d, std::int64_t heads) {
  if (heads <= 0 || d % heads != 0)
    throw ShapeError(fmt::format("[multi_head_attention] d_model {} is not divisible by {} heads", d, heads));
}

// x (B,L,D) through linear `name`, split into heads: (B,L,H,K).
Expr project_heads(const char* name, Expr x, std::int64_t heads) {
  const std::int64_t b = x.dim(0), l = x.dim(1), d = x.dim(2);
  check_heads(d, heads);
  auto scope = x.graph->scope(name);
  return reshape(linear(x, d), {b, l, heads, d / heads});
}

}  // namespace

Expr project_queries(Expr query, std::int64_t heads) {
  return permute(project_heads("q_proj", query, heads), {0, 2, 1, 3});  // (B,H,T,K)
}

KeysValues project_keys_values(Expr key_value, std::int64_t heads) {
  KeysValues kv;
  kv.k_t = permute(project_heads("k_proj", key_value, heads), {0, 2, 3, 1});  // (B,H,K,S)
  kv.v = permute(project_heads("v_proj", key_value, heads), {0, 2, 1, 3});    // (B,H,S,K)
  return kv;
}

Attention attend(Expr q, const KeysValues& kv, Expr mask, double p) {
  const std::int64_t b = q.dim(0), heads = q.dim(1), t = q.dim(2), d = heads * q.dim(3);
  // Insert the head axis into the mask: (B', T', S) -> (B', 1, T', S).
  if (mask.defined() && mask.rank() == 3) mask = reshape(mask, {mask.dim(0), 1, mask.dim(1), mask.dim(2)});
  Attention a = scaled_dot_product_attention(q, kv.k_t, kv.v, mask, p);
  Expr merged = reshape(permute(a.output, {0, 2, 1, 3}), {b, t, d});
  auto scope = q.graph->scope("out_proj");
  return {linear(merged, d), a.weights};
}

Attention multi_head_attention(Expr query, Expr key_value, Expr mask, std::int64_t heads, double p) {
  check_heads(query.dim(2), heads);
  Expr q = project_queries(query, heads);
  const KeysValues kv = project_keys_values(key_value, heads);
  return attend(q, kv, mask, p);
}

}  // namespace attograd
