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

// What the model does now, shown after training: a decoded example, or a sampled text.
struct Demonstration {
  std::string input_label, input;    // "input:  " / "prompt: "
  std::string output_label, output;  // "output: " / "sample: "
};

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
  virtual Demonstration demonstrate() = 0;
};

// The trainee of config.task (app/tasks/registry.hpp).
std::unique_ptr<Trainee> make_trainee(const RunConfig& config, int threads);

// The two kinds of trainee the tasks use.
std::unique_ptr<Trainee> make_seq2seq_trainee(const RunConfig& config, int threads);
std::unique_ptr<Trainee> make_lm_trainee(const RunConfig& config, int threads);

}  // namespace attograd
