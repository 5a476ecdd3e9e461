// What the training loop trains: a task's model with its data. The loop
// (app/trainer.cpp) is the same for sequence-to-sequence tasks and the
// language model; only these few operations differ.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "app/run_config.hpp"
#include "app/seq2seq.hpp"

namespace attograd {

class Trainee {
 public:
  virtual ~Trainee() = default;
  virtual ParameterStore& parameters() = 0;
  // Forward + backward of data batch `index`; returns (mean loss, target tokens).
  virtual std::pair<double, std::int64_t> train_batch(std::uint64_t index, const RunOptions& options) = 0;
  virtual EvalResult evaluate() = 0;
  // Fraction of held-out examples whose greedy decoding is exactly right
  // (sequence tasks; nullopt for the language model).
  virtual std::optional<double> exact_match() { return std::nullopt; }
  // A line showing what the model does now (a decoded example, sampled text).
  virtual std::pair<std::string, std::string> demonstrate() = 0;
};

std::unique_ptr<Trainee> make_trainee(const RunConfig& config, int threads);

}  // namespace attograd
