// Sequence-to-sequence tasks the command line trains. A task generates
// examples on the fly (nothing is downloaded), knows its vocabularies and
// turns text into token ids and back.
//
// Example ids follow one convention: target = [bos] + tokens + [eos] (no eos
// for fixed-length tasks such as copy). Training feeds tgt[:-1] and predicts
// tgt[1:] (teacher forcing).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/tensor.hpp"

namespace attograd {

using TokenIds = std::vector<std::int32_t>;

struct Example {
  TokenIds src;
  TokenIds tgt;  // starts with bos
};

// A padded batch: src (B, S), tgt_in (B, T), tgt_out (B, T), all i32.
struct Batch {
  Tensor src, tgt_in, tgt_out;
  std::int64_t target_tokens = 0;  // non-pad tokens of tgt_out
  std::int64_t size() const { return src.shape()[0]; }
};

// Words <-> ids for text tasks; id 0 is "<pad>", 1 "<s>", 2 "</s>".
class Vocab {
 public:
  explicit Vocab(const std::vector<std::string>& words);
  std::int32_t id(const std::string& word) const;  // throws Error naming an unknown word
  const std::string& word(std::int32_t id) const;
  std::int64_t size() const { return static_cast<std::int64_t>(words_.size()); }
  static constexpr std::int32_t pad = 0, bos = 1, eos = 2;

 private:
  std::vector<std::string> words_;
};

struct TaskDefaults {
  std::int64_t layers = 2, d_model = 512, heads = 8, d_ff = 2048;
  double dropout = 0.1, label_smoothing = 0.0;
  bool pre_norm = true;
  std::int64_t batch = 30, steps = 200, eval_batches = 5, warmup = 400;
  double lr_factor = 1.0;
  bool evaluate_every_epoch = false;  // with no --eval-every: every --steps-per-epoch steps, not 10 times a run
  std::string decode_example;  // shown after training
};

class Seq2SeqTask {
 public:
  virtual ~Seq2SeqTask() = default;
  virtual std::string name() const = 0;
  virtual std::string summary() const = 0;
  virtual std::int64_t src_vocab() const = 0;
  virtual std::int64_t tgt_vocab() const = 0;
  std::int32_t pad() const { return 0; }
  virtual std::int32_t bos() const = 0;
  virtual std::int32_t eos() const { return -1; }  // -1: fixed length, no end token
  virtual Example sample(std::mt19937_64& rng) const = 0;
  // Most target tokens (after bos) a decode of `src` may produce.
  virtual std::int64_t max_target_length(const TokenIds& src) const = 0;
  // Text as the task writes it (ids for copy, digits/words for others).
  virtual TokenIds encode_source(const std::string& text) const = 0;
  virtual TokenIds encode_target(const std::string& text) const = 0;  // with bos (and eos)
  virtual std::string decode_target(const TokenIds& ids) const = 0;   // drops bos/eos/pad
  // One token as text, for labels (attention pictures): "7" for copy; a
  // digit or a word, "<s>", "</s>", "<pad>" for numbers. Throws Error for an
  // id outside the side's vocabulary.
  enum class Side { source, target };
  virtual std::string token_text(std::int32_t id, Side side) const = 0;
  virtual TaskDefaults defaults() const = 0;
};

// "copy", "numbers" — throws Error listing the known tasks otherwise. (The
// tasks the command line trains, lm among them: app/tasks/registry.hpp.)
std::unique_ptr<Seq2SeqTask> make_task(const std::string& name);

// Pads examples into a batch (pad id 0).
Batch make_batch(const std::vector<Example>& examples);
// Batch `index` of a stream keyed by `seed`: the same (seed, index) always
// gives the same batch, so resumed training sees the data it would have seen.
Batch sample_batch(const Seq2SeqTask& task, std::uint64_t seed, std::uint64_t index, std::int64_t size);
// The examples of that batch.
std::vector<Example> sample_examples(const Seq2SeqTask& task, std::uint64_t seed, std::uint64_t index, std::int64_t size);

// Splits on whitespace.
std::vector<std::string> split_words(const std::string& text);

}  // namespace attograd
