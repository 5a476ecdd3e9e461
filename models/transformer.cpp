#include "models/transformer.hpp"

#include <fmt/format.h>

#include "models/attention.hpp"
#include "ops/dropout.hpp"
#include "ops/elementwise.hpp"

namespace attograd {
namespace {

// Embedding of ids scaled by sqrt(D), plus positions, then dropout.
Expr embed(const TransformerConfig& c, const char* scope, Expr ids, std::int64_t vocab) {
  Graph& g = *ids.graph;
  Expr x;
  {
    auto s = g.scope(scope);
    x = token_embedding(ids, vocab, c.d_model);
  }
  return dropout(x + positional_encoding(g, ids.dim(1), c.d_model), c.dropout);
}

// One residual sublayer around f, with its norm in scope `norm_name`.
template <class F>
Expr residual(const TransformerConfig& c, Expr x, const char* norm_name, F f) {
  Graph& g = *x.graph;
  auto norm = [&](Expr y) {
    auto s = g.scope(norm_name);
    return layer_norm(y, c.norm_eps);
  };
  if (c.norm == NormPlacement::pre) return x + dropout(f(norm(x)), c.dropout);
  return norm(x + dropout(f(x), c.dropout));
}

Expr feed_forward_block(const TransformerConfig& c, Expr x) {
  auto s = x.graph->scope("feed_forward");
  return feed_forward(x, c.d_ff, c.activation, c.dropout);
}

Expr attention_block(const TransformerConfig& c, const char* name, Expr q, Expr kv, Expr mask,
                     std::vector<AttentionTap>* taps, const char* kind, int layer) {
  auto s = q.graph->scope(name);
  Attention a = multi_head_attention(q, kv, mask, c.heads, c.dropout);
  if (taps) taps->push_back({kind, layer, a.weights});
  return a.output;
}

Expr final_norm(const TransformerConfig& c, Expr x) {
  if (c.norm != NormPlacement::pre) return x;
  auto s = x.graph->scope("norm");
  return layer_norm(x, c.norm_eps);
}

}  // namespace

Expr transformer_encoder(const TransformerConfig& c, Expr src_ids, Expr src_mask, std::vector<AttentionTap>* taps) {
  Graph& g = *src_ids.graph;
  Expr x = embed(c, "src_embed", src_ids, c.src_vocab);
  auto enc = g.scope("encoder");
  for (int i = 0; i < c.layers; ++i) {
    auto layers = g.scope("layers");
    auto layer = g.scope(std::to_string(i));
    x = residual(c, x, "norm1", [&](Expr y) { return attention_block(c, "self_attn", y, y, src_mask, taps, "encoder", i); });
    x = residual(c, x, "norm2", [&](Expr y) { return feed_forward_block(c, y); });
  }
  return final_norm(c, x);
}

Expr transformer_decoder(const TransformerConfig& c, Expr memory, Expr src_mask, Expr tgt_ids, Expr tgt_mask,
                         std::vector<AttentionTap>* taps) {
  Graph& g = *tgt_ids.graph;
  Expr x = embed(c, "tgt_embed", tgt_ids, c.tgt_vocab);
  auto dec = g.scope("decoder");
  for (int i = 0; i < c.layers; ++i) {
    auto layers = g.scope("layers");
    auto layer = g.scope(std::to_string(i));
    x = residual(c, x, "norm1", [&](Expr y) { return attention_block(c, "self_attn", y, y, tgt_mask, taps, "decoder", i); });
    x = residual(c, x, "norm2",
                 [&](Expr y) { return attention_block(c, "src_attn", y, memory, src_mask, taps, "cross", i); });
    x = residual(c, x, "norm3", [&](Expr y) { return feed_forward_block(c, y); });
  }
  return final_norm(c, x);
}

Expr generator(Expr hidden, std::int64_t vocab) {
  auto s = hidden.graph->scope("generator");
  return linear(hidden, vocab);
}

Expr decoder_only_lm(const TransformerConfig& c, Expr ids, Expr causal_mask, std::vector<AttentionTap>* taps) {
  Graph& g = *ids.graph;
  Expr x = embed(c, "embed", ids, c.tgt_vocab);
  for (int i = 0; i < c.layers; ++i) {
    auto layers = g.scope("layers");
    auto layer = g.scope(std::to_string(i));
    x = residual(c, x, "norm1", [&](Expr y) { return attention_block(c, "self_attn", y, y, causal_mask, taps, "decoder", i); });
    x = residual(c, x, "norm2", [&](Expr y) { return feed_forward_block(c, y); });
  }
  return generator(final_norm(c, x), c.tgt_vocab);
}

}  // namespace attograd
