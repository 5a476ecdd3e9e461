// Attention as graph builders.
//
// Shapes: B batch, T queries, S keys, D model width, H heads, K = D / H.
//   scaled_dot_product_attention(q (B,H,T,K), k_t (B,H,K,S), v (B,H,S,K), mask)
//       weights = softmax(q k_t / sqrt(K)) with mask == 0 positions at
//       weight 0 (a fully masked row gives zeros), dropout on the weights,
//       out = weights v  -> (B,H,T,K)
//   multi_head_attention(query (B,T,D), key_value (B,S,D), mask, H, p)
//       projections q_proj, k_proj, v_proj, out_proj (each "weight" (D,D)
//       and "bias" (D,)) in the current scope -> (B,T,D)
// and its three parts, for callers that keep keys and values (incremental
// decoding, models/decoder_step.hpp):
//   project_queries(query (B,T,D), H)        q_proj -> (B,H,T,K)
//   project_keys_values(key_value (B,S,D), H) k_proj, v_proj -> k_t (B,H,K,S), v (B,H,S,K)
//   attend(q, keys_values, mask, p)          attention, heads merged, out_proj -> (B,T,D)
// The mask is a float tensor, 1 = attend, 0 = not, broadcastable to
// (B, 1, T, S) after a head axis is inserted: padding masks are (B, 1, S),
// causal masks (B or 1, T, T). An empty mask (Expr{}) masks nothing.
//
// K is laid out as (B,H,K,S) so that the scores are an untransposed GEMM
// (OpenBLAS runs small batched products with a transposed operand at a
// third of the speed).
#pragma once

#include "engine/graph.hpp"

namespace attograd {

struct Attention {
  Expr output;   // (B, T, D) or (B, H, T, K)
  Expr weights;  // (B, H, T, S): rows sum to 1 (0 for fully masked rows)
};

struct KeysValues {
  Expr k_t;  // (B, H, K, S)
  Expr v;    // (B, H, S, K)
};

Attention scaled_dot_product_attention(Expr q, Expr k_t, Expr v, Expr mask, double dropout);
Attention multi_head_attention(Expr query, Expr key_value, Expr mask, std::int64_t heads, double dropout);

Expr project_queries(Expr query, std::int64_t heads);
KeysValues project_keys_values(Expr key_value, std::int64_t heads);
Attention attend(Expr q, const KeysValues& kv, Expr mask, double dropout);

}  // namespace attograd
