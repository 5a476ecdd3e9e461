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
#include "models/attention.hpp"
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

// Incremental decoding: the decoder one position at a time, with the keys and
// values of the earlier positions fed back as graph inputs instead of being
// recomputed. Same parameters; the logits equal those of transformer_decoder +
// generator at position t for the same prefix, up to float rounding.
//   decoder_cross_keys_values(c, memory (B,S,D))
//       -> per layer the src_attn keys k_t (B,H,K,S) and values v (B,H,S,K)
//          of the memory: computed once per source
//   transformer_decoder_step(c, token (B,1), t, self, cross, src_mask (B,1,S), self_mask)
//       token: the target token at position t (bos at t = 0)
//       self:  per layer the self-attention k_t (B,H,K,t) and v (B,H,t,K)
//              of positions 0..t-1 (empty at t = 0)
//       self_mask: which of positions 0..t the new position may attend to,
//              (B,1,t+1) (the prefix's padding mask), or empty: all of them
//       -> logits (B,1,V) for the token at t + 1, and the self-attention keys
//          and values of positions 0..t, (B,H,K,t+1) and (B,H,t+1,K)
//
//   DecoderStep s = transformer_decoder_step(c, token, t, cache, cross, src_mask);
//   // feed s.self[i] back as the next step's cache (concat appends position t)
struct DecoderStep {
  Expr logits;
  std::vector<KeysValues> self;
};
std::vector<KeysValues> decoder_cross_keys_values(const TransformerConfig& c, Expr memory);
DecoderStep transformer_decoder_step(const TransformerConfig& c, Expr token, std::int64_t position,
                                     const std::vector<KeysValues>& self, const std::vector<KeysValues>& cross,
                                     Expr src_mask, Expr self_mask = {});

// Decoder-only language model (GPT-style, causal self-attention, no cross-
// attention; pre- or post-norm as configured; vocabulary c.tgt_vocab):
// ids (B, T) -> logits (B, T, V). Parameters under "embed", "layers.N", "norm", "generator".
Expr decoder_only_lm(const TransformerConfig& c, Expr ids, Expr causal_mask, std::vector<AttentionTap>* taps = nullptr);

}  // namespace attograd
