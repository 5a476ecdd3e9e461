// An encoder-decoder Transformer bound to a task: its parameters, the graphs
// it has built (one per batch shape, cached), and what the command line does
// with it: a training step's loss and gradients, evaluation, greedy decoding
// and beam search.
#pragma once

#include <memory>
#include <vector>

#include "cli/tasks/task.hpp"
#include "engine/executor.hpp"
#include "engine/parameters.hpp"
#include "models/graph_cache.hpp"
#include "models/transformer.hpp"

namespace attograd {

struct EvalResult {
  double loss = 0;          // mean per non-pad target token
  double accuracy = 0;      // teacher-forced next-token accuracy over non-pad tokens
  std::int64_t tokens = 0;
};

struct DecodeOptions {
  int beam = 1;                 // 1: greedy
  double length_penalty = 0.6;  // GNMT: score / ((5 + len) / 6)^alpha
  std::int64_t max_length = -1; // -1: the task's limit
};

class Seq2SeqModel {
 public:
  Seq2SeqModel(const Seq2SeqTask& task, const TransformerConfig& config, std::uint64_t seed, int threads,
               double label_smoothing);
  ~Seq2SeqModel();

  const TransformerConfig& config() const { return config_; }
  ParameterStore& parameters() { return params_; }
  Executor& executor() { return executor_; }

  // Forward + backward of one batch; gradients are added to the store.
  // Returns the mean loss per target token.
  double train_step(const Batch& batch, const RunOptions& options);
  EvalResult evaluate(const std::vector<Batch>& batches);

  // Target ids (starting with bos) for one source sequence.
  TokenIds decode(const TokenIds& src, const DecodeOptions& options = {});
  // Greedy decoding of many sources at once (padded into one batch); equal
  // to decode() of each up to float rounding.
  std::vector<TokenIds> decode_batch(const std::vector<TokenIds>& srcs);
  // Fraction of examples whose greedy decoding equals the target exactly
  // (batches of `chunk`).
  double exact_match(const std::vector<Example>& examples, std::size_t chunk = 100);

  // Attention weights of a teacher-forced pass over (src, tgt): one entry
  // per (kind, layer), each (H, T, S) — for the attention pictures.
  struct AttentionMaps {
    std::string kind;
    int layer;
    Tensor weights;  // (H, T, S)
  };
  std::vector<AttentionMaps> attention(const TokenIds& src, const TokenIds& tgt);

  struct TrainGraph;
  struct DecodeGraph;

 private:
  TrainGraph& train_graph(const Batch& batch);
  TokenIds greedy(const TokenIds& src, std::int64_t max_length);
  TokenIds beam_search(const TokenIds& src, const DecodeOptions& options, std::int64_t max_length);
  // Encoder output (1, S, D) for src ids (1, S).
  Tensor encode(const Tensor& src);
  // Log-probabilities of the next token after each prefix (N, t), all
  // continuing the one source `src` (1, S) whose encoding is `memory`.
  std::vector<std::vector<float>> next_log_probs(const Tensor& src, const Tensor& memory, const Tensor& prefixes);
  // Decoder logits (N, t, V) for prefixes (N, t) of sources (N, S) encoded as memory (N, S, D).
  const Tensor& decoder_logits(const Tensor& src, const Tensor& memory, const Tensor& prefixes);

  const Seq2SeqTask& task_;
  TransformerConfig config_;
  double label_smoothing_;
  ParameterStore params_;
  Executor executor_;
  GraphCache<TrainGraph> train_graphs_;
  GraphCache<DecodeGraph> decode_graphs_;
};

}  // namespace attograd
