#include "models/attention.hpp"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "models/layers.hpp"
#include "ops/dropout.hpp"
#include "ops/matmul.hpp"
#include "ops/shape_ops.hpp"
#include "ops/softmax.hpp"

namespace attograd {

namespace {

const char* layout_name(KeyLayout layout) { return layout == KeyLayout::bhsk ? "(B, H, S, K)" : "(B, H, K, S)"; }

// k's K and S in `layout`.
std::int64_t key_width(Expr k, KeyLayout layout) { return k.dim(layout == KeyLayout::bhsk ? -1 : -2); }
std::int64_t key_count(Expr k, KeyLayout layout) { return k.dim(layout == KeyLayout::bhsk ? -2 : -1); }

// q (..., T, K), k in `layout`, v (..., S, K'): one rank, K and S agreeing.
void check_attention_inputs(Expr q, Expr k, Expr v, KeyLayout layout) {
  if (q.rank() < 2 || k.rank() != q.rank() || v.rank() != q.rank())
    throw ShapeError(fmt::format("[scaled_dot_product_attention] q, k and v need one rank >= 2: q {} (B, H, T, K), "
                                 "k {} {}, v {} (B, H, S, K)",
                                 to_string(q.shape()), to_string(k.shape()), layout_name(layout),
                                 to_string(v.shape())));
  auto fits = [&](KeyLayout l) { return key_width(k, l) == q.dim(-1) && key_count(k, l) == v.dim(-2); };
  if (fits(layout)) return;
  const KeyLayout other = layout == KeyLayout::bhsk ? KeyLayout::bhks : KeyLayout::bhsk;
  throw ShapeError(fmt::format(
      "[scaled_dot_product_attention] keys {} do not fit the layout {} with queries {} (B, H, T, K) and values {} "
      "(B, H, S, K): K = {} and S = {} were expected{}",
      to_string(k.shape()), layout_name(layout), to_string(q.shape()), to_string(v.shape()), q.dim(-1), v.dim(-2),
      fits(other) ? fmt::format("; they fit {}: pass KeyLayout::{}", layout_name(other),
                                other == KeyLayout::bhsk ? "bhsk" : "bhks")
                  : ""));
}

}  // namespace

Attention scaled_dot_product_attention(Expr q, Expr k, Expr v, Expr mask, double p, KeyLayout layout) {
  check_attention_inputs(q, k, v, layout);
  const double s = 1.0 / std::sqrt(static_cast<double>(q.dim(-1)));
  // (B,H,T,K) @ (B,H,K,S), or @ (B,H,S,K)ᵀ through the transpose flag.
  Expr scores = matmul(q, k, false, layout == KeyLayout::bhsk);  // (B,H,T,S)
  // softmax(scores * s): the scale is fused into the softmax (one pass, the
  // same bits as a scale node before it).
  Expr weights = mask.defined() ? masked_softmax(scores, mask, -1, s) : softmax(scores, -1, s);
  return {matmul(dropout(weights, p), v), weights};  // (B,H,T,K)
}

namespace {

void check_heads(std::int64_t d, std::int64_t heads) {
  if (heads <= 0 || d % heads != 0)
    throw ShapeError(fmt::format("[multi_head_attention] d_model {} is not divisible by {} heads", d, heads));
}

// query (B,T,D), key and value (B,S,D).
void check_query_key_value(Expr query, Expr key, Expr value) {
  const bool ranks = query.rank() == 3 && key.rank() == 3 && value.rank() == 3;
  if (!ranks || key.dim(0) != query.dim(0) || value.dim(0) != query.dim(0) || key.dim(1) != value.dim(1) ||
      key.dim(2) != query.dim(2) || value.dim(2) != query.dim(2))
    throw ShapeError(fmt::format("[multi_head_attention] query {} (B, T, D), key {} (B, S, D) and value {} (B, S, D) "
                                 "do not fit: one B and D for all three, one S for key and value",
                                 to_string(query.shape()), to_string(key.shape()), to_string(value.shape())));
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

KeysValues project_keys_values(Expr key, Expr value, std::int64_t heads) {
  KeysValues kv;
  kv.k_t = permute(project_heads("k_proj", key, heads), {0, 2, 3, 1});  // (B,H,K,S)
  kv.v = permute(project_heads("v_proj", value, heads), {0, 2, 1, 3});  // (B,H,S,K)
  return kv;
}

KeysValues project_keys_values(Expr key_value, std::int64_t heads) {
  return project_keys_values(key_value, key_value, heads);
}

Attention attend(Expr q, const KeysValues& kv, Expr mask, double p) {
  const std::int64_t b = q.dim(0), heads = q.dim(1), t = q.dim(2), d = heads * q.dim(3);
  // Insert the head axis into the mask: (B', T', S) -> (B', 1, T', S).
  if (mask.defined() && mask.rank() == 3) mask = reshape(mask, {mask.dim(0), 1, mask.dim(1), mask.dim(2)});
  Attention a = scaled_dot_product_attention(q, kv.k_t, kv.v, mask, p, KeyLayout::bhks);
  Expr merged = reshape(permute(a.output, {0, 2, 1, 3}), {b, t, d});
  auto scope = q.graph->scope("out_proj");
  return {linear(merged, d), a.weights};
}

Attention multi_head_attention(Expr query, Expr key, Expr value, Expr mask, std::int64_t heads, double p) {
  check_query_key_value(query, key, value);
  check_heads(query.dim(2), heads);
  Expr q = project_queries(query, heads);
  const KeysValues kv = project_keys_values(key, value, heads);
  return attend(q, kv, mask, p);
}

Attention multi_head_attention(Expr query, Expr key_value, Expr mask, std::int64_t heads, double p) {
  return multi_head_attention(query, key_value, key_value, mask, heads, p);
}

}  // namespace attograd
