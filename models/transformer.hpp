// The Transformer of "Attention Is All You Need" (Vaswani et al., 2017) as
// graph builders, with both residual placements:
//   post-norm (the paper):                 x = LN(x + dropout(f(x)))
//   pre-norm (the Annotated Transformer):  x = x + dropout(f(LN(x))), and a
//                                          final LN after each stack
//
// Parameter names (PyTorch state_dict style):
//   src_embed.weight (V_src, D)   tgt_embed.weight (V_tgt, D)
//   encoder.layers.N.{self_attn.{q,k,v,out}_proj, feed_forward.linear{1,2}, norm{1,2}}.{weight,bias}
//   decoder.layers.N.{self_attn.*, src_attn.*, feed_forward.*, norm{1,2,3}}.*
//   encoder.norm.*, decoder.norm.* (pre-norm only)   generator.{weight,bias} (V_tgt, D)
//
// Shapes: src ids (B, S), tgt ids (B, T) i32; masks as in attention.hpp.
#pragma once

#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "models/layers.hpp"

namespace attograd {

enum class NormPlacement { post, pre };

struct TransformerConfig {
  std::int64_t src_vocab = 0;
  std::int64_t tgt_vocab = 0;
  std::int64_t layers = 6;
  std::int64_t d_model = 512;
  std::int64_t heads = 8;
  std::int64_t d_ff = 2048;
  double dropout = 0.1;
  NormPlacement norm = NormPlacement::post;
  Activation activation = Activation::relu;
  double norm_eps = 1e-5;
};

// Attention weights of one layer, kept so users can look at them.
struct AttentionTap {
  std::string kind;  // "encoder", "decoder" (self-attention) or "cross"
  int layer;
  Expr weights;      // (B, H, T, S)
};

// src ids (B, S) -> memory (B, S, D)
Expr transformer_encoder(const TransformerConfig& c, Expr src_ids, Expr src_mask,
                         std::vector<AttentionTap>* taps = nullptr);
// memory (B, S, D), tgt ids (B, T) -> hidden (B, T, D)
Expr transformer_decoder(const TransformerConfig& c, Expr memory, Expr src_mask, Expr tgt_ids, Expr tgt_mask,
                         std::vector<AttentionTap>* taps = nullptr);
// hidden (..., D) -> logits (..., V) through "generator"
Expr generator(Expr hidden, std::int64_t vocab);

// Decoder-only language model (GPT-style, causal self-attention, no cross-
// attention; pre- or post-norm as configured; vocabulary c.tgt_vocab):
// ids (B, T) -> logits (B, T, V). Parameters under "embed", "layers.N", "norm", "generator".
Expr decoder_only_lm(const TransformerConfig& c, Expr ids, Expr causal_mask, std::vector<AttentionTap>* taps = nullptr);

}  // namespace attograd
