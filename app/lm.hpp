// A character-level decoder-only language model (the "lm" task): trains on a
// text file — by default the GNU GPL v3 text every Debian system ships at
// /usr/share/common-licenses/GPL-3 (its license allows verbatim copies) —
// and samples new text from a prompt.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/executor.hpp"
#include "engine/parameters.hpp"
#include "models/graph_cache.hpp"
#include "models/transformer.hpp"

namespace attograd {

inline constexpr const char* kDefaultCorpus = "/usr/share/common-licenses/GPL-3";

// Characters <-> ids; id 0 is padding, the others are the corpus's bytes
// in byte order, so the same text always gives the same vocabulary.
class CharVocab {
 public:
  explicit CharVocab(const std::string& text);
  static CharVocab from_alphabet(const std::string& alphabet);
  std::vector<std::int32_t> encode(const std::string& text) const;  // throws on unknown characters
  std::string decode(const std::vector<std::int32_t>& ids) const;
  std::int64_t size() const { return static_cast<std::int64_t>(chars_.size()) + 1; }
  const std::string& alphabet() const { return chars_; }

 private:
  CharVocab() = default;
  std::string chars_;
  std::map<char, std::int32_t> ids_;
};

struct LmBatch {
  Tensor ids, targets;  // (B, T) i32: targets are ids shifted by one
  std::int64_t tokens = 0;
};

class LanguageModel {
 public:
  LanguageModel(const CharVocab& vocab, const TransformerConfig& config, std::uint64_t seed, int threads,
                double label_smoothing);
  ~LanguageModel();

  ParameterStore& parameters() { return params_; }
  const TransformerConfig& config() const { return config_; }
  // The precision of evaluation, attention maps and sampling (a training
  // step takes its RunOptions'); f32 by default.
  void set_precision(Precision p) { precision_ = p; }
  Precision precision() const { return precision_; }

  double train_step(const LmBatch& batch, const RunOptions& options);
  // Mean loss per character and next-character accuracy.
  std::pair<double, double> evaluate(const std::vector<LmBatch>& batches);
  // Every layer's causal self-attention weights over `text` (its last 128
  // characters at most): layer i -> (H, T, T), rows summing to 1.
  std::vector<Tensor> attention(const std::string& text);
  // Continues `prompt` by `length` characters, sampling with `temperature`
  // from the `top_k` most likely characters (top_k <= 0: all).
  std::string sample(const std::string& prompt, std::int64_t length, double temperature, int top_k,
                     std::uint64_t seed);

  struct Net;

 private:
  Net& net(std::int64_t batch, std::int64_t length);
  // Forward-only runs: values freed as soon as possible, in precision().
  RunOptions inference_options() const { return {.precision = precision_, .retain_for_backward = false}; }

  const CharVocab& vocab_;
  TransformerConfig config_;
  double label_smoothing_;
  ParameterStore params_;
  Executor executor_;
  Precision precision_ = Precision::f32;
  GraphCache<Net> nets_;
};

// The whole file as bytes; FileError naming the path if it cannot be read.
std::string read_text_file(const std::string& path);

// Where an lm run splits its corpus of n characters: it trains on [0, split)
// and evaluates on the held-out rest (`attograd eval lm` reads the same).
inline std::size_t lm_training_split(std::size_t n) { return n * 9 / 10; }

// Random windows of `length + 1` characters from `ids` (keyed by seed, index).
LmBatch sample_lm_batch(const std::vector<std::int32_t>& ids, std::uint64_t seed, std::uint64_t index,
                        std::int64_t batch, std::int64_t length);

}  // namespace attograd
