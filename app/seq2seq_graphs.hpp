// The graphs a Seq2SeqModel builds, one per shape (models/graph_cache.hpp).
// Shapes: N rows (batch or hypotheses), S source length, T target length,
// t decoded positions, D, H, K = D / H, V.
#pragma once

#include <memory>
#include <vector>

#include "app/seq2seq.hpp"

namespace attograd {

// Teacher-forced training and evaluation: src (N,S), tgt_in, tgt_out (N,T) -> logits, loss.
struct Seq2SeqModel::TrainGraph {
  std::unique_ptr<Graph> graph;
  Expr src, tgt_in, tgt_out, logits, loss;
  std::vector<AttentionTap> taps;
};

// Encoder graph (prefix empty) or the decoder over a whole prefix.
struct Seq2SeqModel::DecodeGraph {
  std::unique_ptr<Graph> graph;
  Expr src, memory_in, prefix, output;  // output: memory (N,S,D) or logits (N,t,V)
};

// The memory's cross-attention keys and values, per decoder layer.
struct Seq2SeqModel::CrossGraph {
  std::unique_ptr<Graph> graph;
  Expr memory;                   // (N,S,D)
  std::vector<KeysValues> cross; // (N,H,K,S), (N,H,S,K)
};

// One incremental decoder step at position t.
struct Seq2SeqModel::StepGraph {
  std::unique_ptr<Graph> graph;
  Expr src, token;                  // (N,S), (N,1)
  std::vector<KeysValues> cross;    // inputs (N,H,K,S), (N,H,S,K)
  std::vector<KeysValues> self;     // inputs (N,H,K,t), (N,H,t,K); none at t = 0
  Expr keep;                        // input (N,1,t): 0 where the prefix holds padding; none at t = 0
  Expr keep_out;                    // (N,1,t+1): keep with the token's position appended
  DecoderStep step;                 // logits (N,1,V), self keys/values (N,H,K,t+1), (N,H,t+1,K)
};

}  // namespace attograd
