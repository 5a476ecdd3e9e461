// Attention as graph builders, with PyTorch's argument order and layouts.
//
// Shapes: B batch, T queries, S keys, D model width, H heads, K = D / H.
//   scaled_dot_product_attention(q (B,H,T,K), k (B,H,S,K), v (B,H,S,K), mask, p)
//       as torch.nn.functional.scaled_dot_product_attention: weights =
//       softmax(q kᵀ / sqrt(K)) with mask == 0 positions at weight 0 (a fully
//       masked row gives zeros), dropout on the weights (in training runs
//       only), out = weights v  -> (B,H,T,K). kᵀ is matmul's transpose flag,
//       not a copy. Keys stored transposed, (B,H,K,S), are passed with
//       KeyLayout::bhks. Keys that fit neither layout throw ShapeError
//       "[scaled_dot_product_attention] ..." naming the layout and the shapes
//       (when S == K both layouts fit: the shapes cannot tell them apart).
//   multi_head_attention(query (B,T,D), key (B,S,D), value (B,S,D), mask, H, p)
//       as torch.nn.MultiheadAttention(query, key, value): projections
//       q_proj, k_proj, v_proj, out_proj (each "weight" (D,D) and "bias" (D,))
//       in the current scope -> (B,T,D)
//   multi_head_attention(query (B,T,D), key_value (B,S,D), mask, H, p)
//       the same with key = value = key_value: self-attention (key_value =
//       query) and cross-attention over an encoder's memory
// and its three parts, for callers that keep keys and values (incremental
// decoding, models/transformer.hpp):
//   project_queries(query (B,T,D), H)             q_proj -> (B,H,T,K)
//   project_keys_values(key, value (B,S,D), H)    k_proj, v_proj -> k_t (B,H,K,S), v (B,H,S,K)
//   attend(q, keys_values, mask, p)               attention, heads merged, out_proj -> (B,T,D)
// The mask is a float tensor, 1 = attend, 0 = not, broadcastable to
// (B, H, T, S); multi_head_attention and attend insert the head axis into a
// rank-3 mask: padding masks are (B, 1, S), causal masks (B or 1, T, T). An
// empty mask (Expr{}) masks nothing.
//
//   Attention cross = multi_head_attention(y, memory, memory, src_mask, 8, 0.1);  // .output (B,T,D)
//   Attention self = multi_head_attention(y, y, tgt_mask, 8, 0.1);               // key = value = y
//   Attention a = scaled_dot_product_attention(q, k, v);  // q (B,H,T,K), k, v (B,H,S,K)
//
// Why multi_head_attention keeps its keys as (B,H,K,S): the scores are then
// an untransposed GEMM (OpenBLAS runs small batched products with a
// transposed operand at a third of the speed), and the key gradient comes
// from qᵀ·g; with keys (B,H,S,K) it comes from gᵀ·q, which rounds
// differently: training results would change in the last bits.
#pragma once

#include <cstdint>

#include "engine/graph.hpp"

namespace attograd {

struct Attention {
  Expr output;   // (B, T, D) or (B, H, T, K)
  Expr weights;  // (B, H, T, S): rows sum to 1 (0 for fully masked rows)
};

// How scaled_dot_product_attention's keys are stored.
enum class KeyLayout {
  bhsk,  // (B, H, S, K), as PyTorch
  bhks,  // (B, H, K, S): transposed, as multi_head_attention keeps them
};

struct KeysValues {
  Expr k_t;  // (B, H, K, S)
  Expr v;    // (B, H, S, K)
};

Attention scaled_dot_product_attention(Expr q, Expr k, Expr v, Expr mask = {}, double dropout = 0.0,
                                       KeyLayout layout = KeyLayout::bhsk);
Attention multi_head_attention(Expr query, Expr key, Expr value, Expr mask, std::int64_t heads, double dropout);
Attention multi_head_attention(Expr query, Expr key_value, Expr mask, std::int64_t heads, double dropout);

Expr project_queries(Expr query, std::int64_t heads);
KeysValues project_keys_values(Expr key, Expr value, std::int64_t heads);
KeysValues project_keys_values(Expr key_value, std::int64_t heads);
Attention attend(Expr q, const KeysValues& kv, Expr mask, double dropout);

}  // namespace attograd
