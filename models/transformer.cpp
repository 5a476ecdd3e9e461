#include "models/transformer.hpp"

#include <fmt/format.h>

#include "engine/error.hpp"
#include "models/attention.hpp"
#include "ops/concat.hpp"
#include "ops/dropout.hpp"
#include "ops/dropout_add.hpp"
#include "ops/elementwise.hpp"

namespace attograd {
namespace {

// Embedding of ids scaled by sqrt(D), plus the encodings of positions
// first, first + 1, ..., then dropout.
Expr embed(const TransformerConfig& c, const char* scope, Expr ids, std::int64_t vocab, std::int64_t first = 0) {
  Graph& g = *ids.graph;
  Expr x;
  {
    auto s = g.scope(scope);
    x = token_embedding(ids, vocab, c.d_model);
  }
  return dropout(x + positional_encoding(g, ids.dim(1), c.d_model, first), c.dropout);
}

// One residual sublayer around f, with its norm in scope `norm_name`.
template <class F>
Expr residual(const TransformerConfig& c, Expr x, const char* norm_name, F f) {
  Graph& g = *x.graph;
  auto norm = [&](Expr y) {
    auto s = g.scope(norm_name);
    return layer_norm(y, c.norm_eps);
  };
  // x + dropout(y) as one dropout_add node, keyed as that dropout was.
  if (c.norm == NormPlacement::pre) return dropout_add(x, f(norm(x)), c.dropout);
  return norm(dropout_add(x, f(x), c.dropout));
}

Expr feed_forward_block(const TransformerConfig& c, Expr x) {
  auto s = x.graph->scope("feed_forward");
  return feed_forward(x, c.d_ff, c.activation, c.dropout);
}

Expr tapped(const Attention& a, std::vector<AttentionTap>* taps, const char* kind, int layer) {
  if (taps) taps->push_back({kind, layer, a.weights});
  return a.output;
}

Expr attention_block(const TransformerConfig& c, const char* name, Expr q, Expr kv, Expr mask,
                     std::vector<AttentionTap>* taps, const char* kind, int layer) {
  auto s = q.graph->scope(name);
  return tapped(multi_head_attention(q, kv, mask, c.heads, c.dropout), taps, kind, layer);
}

Expr final_norm(const TransformerConfig& c, Expr x) {
  if (c.norm != NormPlacement::pre) return x;
  auto s = x.graph->scope("norm");
  return layer_norm(x, c.norm_eps);
}

// The decoder stack over target ids at positions first..: per layer
// self_attention(y, layer) in scope "self_attn", cross_attention(y, layer) in
// "src_attn" and the feed-forward, each around its norm. The full and the
// incremental decoder differ only in the two attentions.
template <class Self, class Cross>
Expr decoder_stack(const TransformerConfig& c, Expr tgt_ids, std::int64_t first, Self self_attention,
                   Cross cross_attention) {
  Graph& g = *tgt_ids.graph;
  Expr x = embed(c, "tgt_embed", tgt_ids, c.tgt_vocab, first);
  auto dec = g.scope("decoder");
  for (int i = 0; i < c.layers; ++i) {
    auto layer = g.scope("layers", i);
    x = residual(c, x, "norm1", [&](Expr y) {
      auto s = g.scope("self_attn");
      return self_attention(y, i);
    });
    x = residual(c, x, "norm2", [&](Expr y) {
      auto s = g.scope("src_attn");
      return cross_attention(y, i);
    });
    x = residual(c, x, "norm3", [&](Expr y) { return feed_forward_block(c, y); });
  }
  return final_norm(c, x);
}

}  // namespace

Expr transformer_encoder(const TransformerConfig& c, Expr src_ids, Expr src_mask, std::vector<AttentionTap>* taps) {
  Graph& g = *src_ids.graph;
  Expr x = embed(c, "src_embed", src_ids, c.src_vocab);
  auto enc = g.scope("encoder");
  for (int i = 0; i < c.layers; ++i) {
    auto layer = g.scope("layers", i);
    x = residual(c, x, "norm1", [&](Expr y) { return attention_block(c, "self_attn", y, y, src_mask, taps, "encoder", i); });
    x = residual(c, x, "norm2", [&](Expr y) { return feed_forward_block(c, y); });
  }
  return final_norm(c, x);
}

Expr transformer_decoder(const TransformerConfig& c, Expr memory, Expr src_mask, Expr tgt_ids, Expr tgt_mask,
                         std::vector<AttentionTap>* taps) {
  return decoder_stack(
      c, tgt_ids, 0,
      [&](Expr y, int i) { return tapped(multi_head_attention(y, y, tgt_mask, c.heads, c.dropout), taps, "decoder", i); },
      [&](Expr y, int i) {
        return tapped(multi_head_attention(y, memory, src_mask, c.heads, c.dropout), taps, "cross", i);
      });
}

std::vector<KeysValues> decoder_cross_keys_values(const TransformerConfig& c, Expr memory) {
  Graph& g = *memory.graph;
  auto dec = g.scope("decoder");
  std::vector<KeysValues> cross;
  for (int i = 0; i < c.layers; ++i) {
    auto layer = g.scope("layers", i);
    auto s = g.scope("src_attn");
    cross.push_back(project_keys_values(memory, c.heads));
  }
  return cross;
}

DecoderStep transformer_decoder_step(const TransformerConfig& c, Expr token, std::int64_t position,
                                     const std::vector<KeysValues>& self, const std::vector<KeysValues>& cross,
                                     Expr src_mask, Expr self_mask) {
  const auto layers = static_cast<std::size_t>(c.layers);
  if (token.rank() != 2 || token.dim(1) != 1 || cross.size() != layers ||
      self.size() != (position == 0 ? 0 : layers) || (position > 0 && self[0].k_t.dim(3) != position))
    throw ShapeError(fmt::format("[transformer_decoder_step] position {} needs one token per row (B, 1), {} cached "
                                 "self-attention layers of {} positions and {} cross-attention layers; got {}, {} and {}",
                                 position, position == 0 ? 0 : c.layers, position, c.layers, token.rank() == 2 ? token.dim(1) : -1,
                                 self.size(), cross.size()));
  DecoderStep step;
  Expr hidden = decoder_stack(
      c, token, position,
      [&](Expr y, int i) {
        Expr q = project_queries(y, c.heads);
        KeysValues kv = project_keys_values(y, c.heads);  // position t: (B,H,K,1), (B,H,1,K)
        if (!self.empty()) kv = {concat({self[i].k_t, kv.k_t}, 3), concat({self[i].v, kv.v}, 2)};
        step.self.push_back(kv);
        return attend(q, kv, self_mask, c.dropout).output;  // positions 0..t: nothing ahead to mask
      },
      [&](Expr y, int i) { return attend(project_queries(y, c.heads), cross[i], src_mask, c.dropout).output; });
  step.logits = generator(hidden, c.tgt_vocab);
  return step;
}

Expr generator(Expr hidden, std::int64_t vocab) {
  auto s = hidden.graph->scope("generator");
  return linear(hidden, vocab);
}

Expr decoder_only_lm(const TransformerConfig& c, Expr ids, Expr causal_mask, std::vector<AttentionTap>* taps) {
  Graph& g = *ids.graph;
  Expr x = embed(c, "embed", ids, c.tgt_vocab);
  for (int i = 0; i < c.layers; ++i) {
    auto layer = g.scope("layers", i);
    x = residual(c, x, "norm1", [&](Expr y) { return attention_block(c, "self_attn", y, y, causal_mask, taps, "decoder", i); });
    x = residual(c, x, "norm2", [&](Expr y) { return feed_forward_block(c, y); });
  }
  return generator(final_norm(c, x), c.tgt_vocab);
}

}  // namespace attograd
