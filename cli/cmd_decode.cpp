// attograd decode TASK --load PATH --input "..." [--beam K]
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/loaded_model.hpp"
#include "app/tasks/registry.hpp"
#include "cli/commands.hpp"
#include "cli/validators.hpp"

namespace attograd {
namespace {

struct DecodeArgs {
  std::string task, load, precision;
  int threads = 0;
};

}  // namespace

void add_decode_command(CLI::App& app) {
  auto a = std::make_shared<DecodeArgs>();
  auto input = std::make_shared<std::string>();
  auto options = std::make_shared<DecodeOptions>();
  CLI::App* cmd = app.add_subcommand("decode", "decode one input with a trained checkpoint (greedy or beam search)");
  cmd->add_option("task", a->task, "task: copy or numbers")->required()->check(CLI::IsMember(task_names(ModelKind::seq2seq)));
  cmd->add_option("--load", a->load, "checkpoint written by `attograd train --save`")->required()->check(CLI::ExistingFile);
  cmd->add_option("--input", *input, "the source, as the task writes it: \"1 2 3 4\" (copy), \"1234\" (numbers)")->required();
  cmd->add_option("--beam", options->beam, "beam size (1 = greedy)")->check(CLI::Range(1, 64));
  cmd->add_option("--length-penalty", options->length_penalty, "GNMT length penalty alpha")
      ->check(Finite)
      ->check(CLI::Range(0.0, 10.0));
  cmd->add_option("--max-len", options->max_length, "most tokens to produce")->check(CLI::Range(1, 4096));
  cmd->add_option("--threads", a->threads, "worker threads (0 = all cores)")->check(CLI::Range(0, 1024));
  add_precision_flag(*cmd, a->precision);
  cmd->callback([a, input, options] {
    LoadedSeq2Seq m = load_seq2seq(a->load, a->task, a->threads, precision_from_name(a->precision));
    fmt::print("{}\n", m.task->decode_target(m.model->decode(m.task->encode_source(*input), *options)));
  });
}

}  // namespace attograd
