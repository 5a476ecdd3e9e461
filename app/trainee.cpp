#include "app/trainee.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "app/lm.hpp"
#include "app/tasks/registry.hpp"
#include "engine/error.hpp"

namespace attograd {
namespace {

constexpr std::uint64_t kEvalSeed = 0x5EED0E7A1ull;  // the same evaluation data for every run
constexpr std::uint64_t kExactSeed = 0xE8AC7ull;     // the examples decoded for the exact-match rate
constexpr std::int64_t kExactExamples = 200;

class Seq2SeqTrainee final : public Trainee {
 public:
  Seq2SeqTrainee(const RunConfig& c, int threads)
      : config_(c), task_(make_task(c.task)), model_(*task_, c.model, c.seed, threads, c.label_smoothing) {
    model_.set_precision(c.precision);
    for (std::int64_t i = 0; i < c.eval_batches; ++i)
      eval_.push_back(sample_batch(*task_, kEvalSeed, static_cast<std::uint64_t>(i), c.batch));
  }
  ParameterStore& parameters() override { return model_.parameters(); }
  std::pair<double, std::int64_t> train_batch(std::uint64_t index, const RunOptions& options) override {
    const Batch b = sample_batch(*task_, config_.seed, index, config_.batch);
    return {model_.train_step(b, options), b.target_tokens};
  }
  EvalResult evaluate() override { return model_.evaluate(eval_); }
  std::optional<double> exact_match() override {
    return model_.exact_match(sample_examples(*task_, kExactSeed, 0, kExactExamples));
  }
  Demonstration demonstrate() override {
    const std::string input = task_->defaults().decode_example;
    return {"input:  ", input, "output: ", task_->decode_target(model_.decode(task_->encode_source(input)))};
  }

 private:
  RunConfig config_;
  std::unique_ptr<Seq2SeqTask> task_;
  Seq2SeqModel model_;
  std::vector<Batch> eval_;
};


// Trains on the first 90% of the text, evaluates on the rest.
class LmTrainee final : public Trainee {
 public:
  LmTrainee(const RunConfig& c, int threads)
      : config_(c), vocab_(CharVocab::from_alphabet(c.alphabet)), model_(vocab_, c.model, c.seed, threads, c.label_smoothing) {
    model_.set_precision(c.precision);
    const std::vector<std::int32_t> ids = vocab_.encode(read_text_file(c.data));
    const auto split = static_cast<std::ptrdiff_t>(lm_training_split(ids.size()));
    train_.assign(ids.begin(), ids.begin() + split);
    held_out_.assign(ids.begin() + split, ids.end());
    for (std::int64_t i = 0; i < c.eval_batches; ++i)
      eval_.push_back(sample_lm_batch(held_out_, kEvalSeed, static_cast<std::uint64_t>(i), c.batch, c.context));
  }
  ParameterStore& parameters() override { return model_.parameters(); }
  std::pair<double, std::int64_t> train_batch(std::uint64_t index, const RunOptions& options) override {
    const LmBatch b = sample_lm_batch(train_, config_.seed, index, config_.batch, config_.context);
    return {model_.train_step(b, options), b.tokens};
  }
  EvalResult evaluate() override {
    const auto [loss, accuracy] = model_.evaluate(eval_);
    return {loss, accuracy, static_cast<std::int64_t>(eval_.size()) * config_.batch * config_.context};
  }
  Demonstration demonstrate() override {
    // The default corpus's opening words, or the held-out text's for a corpus without those letters.
    std::string prompt = "The GNU General Public License ";
    if (prompt.find_first_not_of(vocab_.alphabet()) != std::string::npos)
      prompt = vocab_.decode({held_out_.begin(), held_out_.begin() + std::min<std::ptrdiff_t>(30, std::ssize(held_out_))});
    return {"prompt: ", prompt, "sample: ", model_.sample(prompt, 120, 0.8, 10, config_.seed)};
  }

 private:
  RunConfig config_;
  CharVocab vocab_;
  LanguageModel model_;
  std::vector<std::int32_t> train_, held_out_;
  std::vector<LmBatch> eval_;
};

}  // namespace

std::unique_ptr<Trainee> make_trainee(const RunConfig& config, int threads) {
  return find_task(config.task).make_trainee(config, threads);
}

std::unique_ptr<Trainee> make_seq2seq_trainee(const RunConfig& config, int threads) {
  return std::make_unique<Seq2SeqTrainee>(config, threads);
}

std::unique_ptr<Trainee> make_lm_trainee(const RunConfig& config, int threads) {
  return std::make_unique<LmTrainee>(config, threads);
}

}  // namespace attograd
