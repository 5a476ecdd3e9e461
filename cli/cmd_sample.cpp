// attograd sample --load PATH [--prompt TEXT] [--length N] [--temperature T] [--top-k K]
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/validators.hpp"
#include "app/loaded_model.hpp"

namespace attograd {

void add_sample_command(CLI::App& app) {
  struct Args {
    std::string load, prompt = "The ";
    std::int64_t length = 200;
    double temperature = 0.8;
    int top_k = 10;
    std::uint64_t seed = 1;
    int threads = 0;
    std::string precision;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("sample", "generate text with a language model trained by `attograd train lm`");
  cmd->add_option("--load", a->load, "checkpoint of the lm task")->required()->check(CLI::ExistingFile);
  cmd->add_option("--prompt", a->prompt, "text to continue");
  cmd->add_option("--length", a->length, "characters to generate")->check(CLI::Range(1, 100000));
  cmd->add_option("--temperature", a->temperature, "sampling temperature (> 0)")->check(Finite)->check(CLI::Range(1e-3, 100.0));
  cmd->add_option("--top-k", a->top_k, "sample among the k most likely characters (0 = all)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--seed", a->seed, "sampling seed");
  cmd->add_option("--threads", a->threads, "worker threads (0 = all cores)")->check(CLI::Range(0, 1024));
  add_precision_flag(*cmd, a->precision);
  cmd->callback([a] {
    LoadedLm m = load_lm(a->load, a->threads, precision_from_name(a->precision));
    fmt::print("{}\n", m.model->sample(a->prompt, a->length, a->temperature, a->top_k, a->seed));
  });
}

}  // namespace attograd
