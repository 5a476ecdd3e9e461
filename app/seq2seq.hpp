// An encoder-decoder Transformer bound to a task: its parameters, the graphs
// it has built (one per batch shape, cached), and what the command line does
// with it: a training step's loss and gradients, evaluation, greedy decoding
// and beam search.
#pragma once

#include <memory>
#include <vector>

#include "app/tasks/task.hpp"
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
  // true: the incremental decoder, which keeps every position's keys and
  // values; false: rerun the decoder over the whole prefix at every step
  // (the oracle the cached path is tested against). See docs/DESIGN.md.
  bool cache = true;
};

// One decoded sequence.
struct Hypothesis {
  TokenIds ids;          // starts with bos
  double log_prob = 0;   // sum of the log-probabilities of the tokens after bos
  double score = 0;      // beam search: log_prob / ((5 + len) / 6)^alpha, len = ids.size() - 1; greedy: log_prob
};

// A decoding in progress for N rows (hypotheses), each continuing one source.
class PrefixDecoder {
 public:
  virtual ~PrefixDecoder() = default;
  // Appends tokens[i] to row i's prefix (bos first) and returns every row's
  // log-probabilities of the next token: N rows of V.
  virtual std::vector<std::vector<float>> advance(const TokenIds& tokens) = 0;
  // Keeps rows `rows`, in that order; a row may be kept twice (beam search).
  virtual void select(const std::vector<std::size_t>& rows) = 0;
};

class Seq2SeqModel {
 public:
  Seq2SeqModel(const Seq2SeqTask& task, const TransformerConfig& config, std::uint64_t seed, int threads,
               double label_smoothing);
  ~Seq2SeqModel();

  const TransformerConfig& config() const { return config_; }
  ParameterStore& parameters() { return params_; }
  Executor& executor() { return executor_; }
  // The precision of evaluation, decoding and attention maps (a training
  // step takes its RunOptions'); f32 by default.
  void set_precision(Precision p) { precision_ = p; }
  Precision precision() const { return precision_; }

  // Forward + backward of one batch; gradients are added to the store.
  // Returns the mean loss per target token.
  double train_step(const Batch& batch, const RunOptions& options);
  EvalResult evaluate(const std::vector<Batch>& batches);

  // Target ids (starting with bos) for one source sequence.
  TokenIds decode(const TokenIds& src, const DecodeOptions& options = {});
  // Greedy decoding (options.beam is ignored) with the sequence's log-probability.
  Hypothesis greedy(const TokenIds& src, const DecodeOptions& options = {});
  // Beam search's final beam, best score first (decode() returns the first).
  std::vector<Hypothesis> beam_search(const TokenIds& src, const DecodeOptions& options);
  // Greedy decoding of many sources at once (padded into one batch); equal
  // to decode() of each up to float rounding.
  std::vector<TokenIds> decode_batch(const std::vector<TokenIds>& srcs, bool cache = true);
  // Fraction of examples whose greedy decoding equals the target exactly
  // (batches of `chunk`).
  double exact_match(const std::vector<Example>& examples, std::size_t chunk = 100, bool cache = true);
  // Encodes the sources (padded into one batch) and starts decoding one row
  // per source, with the incremental decoder (cache) or the full prefix.
  std::unique_ptr<PrefixDecoder> start_decoding(const std::vector<TokenIds>& srcs, bool cache);
  // Decoding builds one graph per output position (and source shape); the
  // least recently used beyond this many are dropped, so a long decode's
  // memory grows with its length, not with its square.
  static constexpr std::size_t kCachedDecoderGraphs = 64;
  std::size_t cached_step_graphs() const { return step_graphs_.size(); }

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
  struct CrossGraph;
  struct StepGraph;

 private:
  class FullPrefixDecoder;
  class CachedDecoder;
  TrainGraph& train_graph(const Batch& batch);
  // Forward-only runs: values freed as soon as possible, in precision().
  RunOptions inference_options() const { return {.precision = precision_, .retain_for_backward = false}; }
  std::int64_t max_length(const TokenIds& src, const DecodeOptions& options) const;
  // Encoder output (N, S, D) for src ids (N, S).
  Tensor encode(const Tensor& src);
  // Decoder logits (N, t, V) for prefixes (N, t) of sources (N, S) encoded as memory (N, S, D).
  const Tensor& decoder_logits(const Tensor& src, const Tensor& memory, const Tensor& prefixes);
  // Graphs of the incremental decoder (app/prefix_decoders.cpp).
  std::unique_ptr<CrossGraph> build_cross_graph(const ShapeKey& key);  // {N, S}
  std::unique_ptr<StepGraph> build_step_graph(const ShapeKey& key);    // {N, S, t}

  const Seq2SeqTask& task_;
  TransformerConfig config_;
  double label_smoothing_;
  ParameterStore params_;
  Executor executor_;
  Precision precision_ = Precision::f32;
  GraphCache<TrainGraph> train_graphs_;
  GraphCache<DecodeGraph> decode_graphs_;
  GraphCache<CrossGraph> cross_graphs_;
  GraphCache<StepGraph> step_graphs_;
};

}  // namespace attograd
