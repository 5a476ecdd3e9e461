#include "app/loaded_model.hpp"

#include <fmt/format.h>

#include "app/checkpoint_check.hpp"
#include "app/tasks/registry.hpp"
#include "train/checkpoint.hpp"
#include "train/finite_values.hpp"
#include "engine/error.hpp"

namespace attograd {
namespace {

// Checked (bounds, tensor names, dtypes and shapes) before any model is built.
RunConfig read_config(const std::string& path) { return check_checkpoint(path); }

// A diverged run's checkpoint would decode garbage without a word.
void check_finite(const std::string& path, const ParameterStore& params) {
  if (const auto bad = first_non_finite(params))
    throw FileError(fmt::format("[load] '{}': {}: the run that saved it diverged", path, describe(*bad)));
}

bool holds_language_model(const RunConfig& config) {
  const Task* task = lookup_task(config.task);
  return task && task->model() == ModelKind::language_model;
}

}  // namespace

LoadedSeq2Seq load_seq2seq(const std::string& path, const std::string& expected_task, int threads,
                           std::optional<Precision> precision) {
  LoadedSeq2Seq m;
  m.config = read_config(path);
  if (holds_language_model(m.config))
    throw Error(fmt::format("[load] '{}' holds a language model: use the lm task (`attograd eval lm`, `attention lm`) "
                            "or `attograd sample`",
                            path));
  if (!expected_task.empty() && m.config.task != expected_task)
    throw Error(fmt::format("[load] '{}' is a checkpoint of task '{}', not '{}'", path, m.config.task, expected_task));
  m.task = make_task(m.config.task);
  if (m.task->src_vocab() != m.config.model.src_vocab || m.task->tgt_vocab() != m.config.model.tgt_vocab)
    throw FileError(fmt::format("[load] '{}' has vocabularies {}/{}, task '{}' has {}/{}", path, m.config.model.src_vocab,
                                m.config.model.tgt_vocab, m.config.task, m.task->src_vocab(), m.task->tgt_vocab()));
  m.model = std::make_unique<Seq2SeqModel>(*m.task, m.config.model, m.config.seed, threads, m.config.label_smoothing);
  m.model->set_precision(precision.value_or(m.config.precision));
  TrainingState state;
  load_checkpoint(path, m.model->parameters(), state);
  check_finite(path, m.model->parameters());
  return m;
}

LoadedLm load_lm(const std::string& path, int threads, std::optional<Precision> precision) {
  LoadedLm m;
  m.config = read_config(path);
  if (!holds_language_model(m.config))
    throw Error(fmt::format("[load] '{}' is a checkpoint of task '{}', not a language model", path, m.config.task));
  m.vocab = std::make_unique<CharVocab>(CharVocab::from_alphabet(m.config.alphabet));
  m.model = std::make_unique<LanguageModel>(*m.vocab, m.config.model, m.config.seed, threads, m.config.label_smoothing);
  m.model->set_precision(precision.value_or(m.config.precision));
  TrainingState state;
  load_checkpoint(path, m.model->parameters(), state);
  check_finite(path, m.model->parameters());
  return m;
}

}  // namespace attograd
