#include "app/resume.hpp"

#include <functional>

#include <fmt/format.h>

#include "app/lm.hpp"
#include "engine/error.hpp"
#include "io/safetensors.hpp"

namespace attograd {
namespace {

template <class T> std::string text(T v) { return fmt::format("{}", v); }

struct Fixed {
  const char* flag;
  std::function<std::string(const RunConfig&)> value;
};

// Every flag that changes what training computes, with the setting it fills.
const std::vector<Fixed>& fixed_flags() {
  static const std::vector<Fixed> flags{
      {"--layers", [](const RunConfig& c) { return text(c.model.layers); }},
      {"--d-model", [](const RunConfig& c) { return text(c.model.d_model); }},
      {"--heads", [](const RunConfig& c) { return text(c.model.heads); }},
      {"--d-ff", [](const RunConfig& c) { return text(c.model.d_ff); }},
      {"--dropout", [](const RunConfig& c) { return text(c.model.dropout); }},
      {"--norm", [](const RunConfig& c) { return std::string(c.model.norm == NormPlacement::pre ? "pre" : "post"); }},
      {"--activation", [](const RunConfig& c) { return std::string(c.model.activation == Activation::gelu ? "gelu" : "relu"); }},
      {"--label-smoothing", [](const RunConfig& c) { return text(c.label_smoothing); }},
      {"--batch", [](const RunConfig& c) { return text(c.batch); }},
      {"--seed", [](const RunConfig& c) { return text(c.seed); }},
      {"--lr-schedule", [](const RunConfig& c) { return c.lr_schedule; }},
      {"--lr", [](const RunConfig& c) { return text(c.lr); }},
      {"--warmup", [](const RunConfig& c) { return text(c.warmup); }},
      {"--optimizer", [](const RunConfig& c) { return c.optimizer; }},
      {"--beta1", [](const RunConfig& c) { return text(c.beta1); }},
      {"--beta2", [](const RunConfig& c) { return text(c.beta2); }},
      {"--eps", [](const RunConfig& c) { return text(c.eps); }},
      {"--weight-decay", [](const RunConfig& c) { return text(c.weight_decay); }},
      {"--clip", [](const RunConfig& c) { return text(c.clip); }},
      {"--accumulate", [](const RunConfig& c) { return text(c.accumulate); }},
      {"--data", [](const RunConfig& c) { return c.data; }},
  };
  return flags;
}

// Flags that only extend the run or change what is shown and written, never the numbers.
const std::set<std::string>& free_flags() {
  static const std::set<std::string> flags{"--steps", "--epochs", "--steps-per-epoch", "--eval-every", "--threads",
                                           "--save",  "--resume", "--metrics",         "--plot",       "--quiet",
                                           "--check-numerics", "--help"};
  return flags;
}

}  // namespace

ResumeFlag resume_flag(const std::string& flag) {
  if (free_flags().count(flag)) return ResumeFlag::free;
  for (const Fixed& f : fixed_flags())
    if (flag == f.flag) return ResumeFlag::fixed;
  return ResumeFlag::unknown;
}

RunConfig resumed_config(const TrainOptions& options, const RunConfig& command_line) {
  const std::string& path = options.resume;
  RunConfig saved = training_from_metadata(load_safetensors(path).metadata, path);
  if (saved.task != command_line.task)
    throw Error(fmt::format("[train] '{}' is a checkpoint of task '{}', not '{}'", path, saved.task, command_line.task));
  for (const std::string& flag : options.given) {
    if (resume_flag(flag) == ResumeFlag::unknown)
      throw Error(fmt::format("[train] {}: this flag's effect on --resume is not known (a bug: classify it in app/resume.cpp)", flag));
    for (const Fixed& f : fixed_flags())
      if (flag == f.flag && f.value(command_line) != f.value(saved))
        throw Error(fmt::format("[train] {} {} conflicts with the checkpoint '{}', which was trained with {} {} "
                                "(a resumed run keeps the checkpoint's settings; drop the flag)",
                                flag, f.value(command_line), path, flag, f.value(saved)));
  }
  if (saved.task == "lm" && fnv1a(read_text_file(saved.data)) != saved.data_hash)
    throw Error(fmt::format("[train] the corpus '{}' has changed since '{}' was saved: resuming would not be exact",
                            saved.data, path));
  // The length of the run and the evaluation cadence are the command line's.
  saved.steps = command_line.steps;
  saved.eval_every = command_line.eval_every;
  saved.eval_batches = command_line.eval_batches;
  return saved;
}

}  // namespace attograd
