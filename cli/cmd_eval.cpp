// attograd eval TASK --load PATH [--data FILE]   (TASK copy, numbers or lm)
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "app/loaded_model.hpp"
#include "app/tasks/examples_file.hpp"
#include "app/tasks/registry.hpp"
#include "engine/error.hpp"

namespace attograd {
namespace {

// Keys the generated examples and lm windows `eval` reads: the same data on
// every run.
constexpr std::uint64_t kEvalDataSeed = 0xE7A1ull;

struct EvalArgs {
  std::string task, load, data, precision;
  std::int64_t batches = 20, batch = 30;
  int threads = 0;
};

std::vector<Batch> batches_of(const std::vector<Example>& examples, std::int64_t batch) {
  std::vector<Batch> batches;
  const auto size = static_cast<std::size_t>(batch);
  for (std::size_t i = 0; i < examples.size(); i += size)
    batches.push_back(make_batch({examples.begin() + static_cast<std::ptrdiff_t>(i),
                                  examples.begin() + static_cast<std::ptrdiff_t>(std::min(examples.size(), i + size))}));
  return batches;
}

// The lm task: mean loss per character over `batches` random windows of the
// checkpoint's context, from FILE or else from the held-out last 10% of the
// corpus it was trained on (what training's evaluation reads).
void run_eval_lm(const EvalArgs& a) {
  LoadedLm m = load_lm(a.load, a.threads, precision_from_name(a.precision));
  const bool held_out = a.data.empty();
  const std::string path = held_out ? m.config.data : a.data;
  if (path.empty()) throw Error(fmt::format("[eval] '{}' names no corpus: give --data FILE", a.load));
  std::string text;
  try {
    text = read_text_file(path);
  } catch (const FileError& e) {
    if (!held_out) throw;
    throw FileError(fmt::format("{} (the corpus '{}' was trained on; give --data FILE)", e.what(), a.load));
  }
  if (held_out && m.config.data_hash != 0 && fnv1a(text) != m.config.data_hash)
    throw FileError(fmt::format("[eval] the corpus '{}' has changed since '{}' was saved, so its last 10% is not the "
                                "held-out text any more; give --data FILE",
                                path, a.load));
  std::vector<std::int32_t> ids;
  try {
    ids = m.vocab->encode(text);
  } catch (const Error& e) {
    throw FileError(fmt::format("[eval] '{}': {} (the model knows only the characters of its training text)", path,
                                e.what()));
  }
  if (held_out) ids.erase(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(lm_training_split(ids.size())));
  const std::int64_t context = m.config.context;
  if (std::ssize(ids) <= context + 1)  // a window is context + 1 characters, drawn from more than that
    throw FileError(fmt::format("[eval] '{}' has {} characters{}; windows of {} + 1 need more", path, ids.size(),
                                held_out ? " in its held-out 10%" : "", context));
  std::vector<LmBatch> batches;
  for (std::int64_t i = 0; i < a.batches; ++i)
    batches.push_back(sample_lm_batch(ids, kEvalDataSeed, static_cast<std::uint64_t>(i), m.config.batch, context));
  const auto [loss, accuracy] = m.model->evaluate(batches);
  fmt::print("loss {:.6f} per token, accuracy {:.2f}% over {} target tokens\n", loss, 100 * accuracy,
             a.batches * m.config.batch * context);
}

void run_eval(const EvalArgs& a) {
  if (find_task(a.task).model() == ModelKind::language_model) return run_eval_lm(a);
  LoadedSeq2Seq m = load_seq2seq(a.load, a.task, a.threads, precision_from_name(a.precision));
  std::vector<Example> examples;
  if (!a.data.empty()) {
    examples = read_examples(*m.task, a.data);
  } else {
    for (std::int64_t i = 0; i < a.batches; ++i) {
      auto more = sample_examples(*m.task, kEvalDataSeed, static_cast<std::uint64_t>(i), m.config.batch);
      examples.insert(examples.end(), more.begin(), more.end());
    }
  }
  const EvalResult r = m.model->evaluate(batches_of(examples, m.config.batch));
  fmt::print("loss {:.6f} per token, accuracy {:.2f}% over {} target tokens\n", r.loss, 100 * r.accuracy, r.tokens);
  fmt::print("exact match (greedy decoding) {:.2f}% of {} examples\n", 100 * m.model->exact_match(examples),
             examples.size());
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "per-token loss and accuracy of a checkpoint on generated or given data");
  cmd->add_option("task", a->task, "task: copy, numbers or lm")->required()->check(CLI::IsMember(task_names()));
  cmd->add_option("--load", a->load, "checkpoint written by `attograd train --save`")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", a->data,
                  "copy, numbers: examples, one per line: source<TAB>target (default: generated); lm: a text file "
                  "(default: the held-out 10% of the training corpus)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--batches", a->batches, "batches to evaluate (generated, or lm windows)")->check(CLI::Range(1, 100000));
  cmd->add_option("--threads", a->threads, "worker threads (0 = all cores)")->check(CLI::Range(0, 1024));
  add_precision_flag(*cmd, a->precision);
  cmd->callback([a] { run_eval(*a); });
}

}  // namespace attograd
