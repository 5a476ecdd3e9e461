// attograd: train, evaluate, decode, profile and draw Transformers built from
// graph ops. `attograd --help` and `attograd COMMAND --help` list everything.
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "dist/guard.hpp"
#include "engine/error.hpp"
#include "ops/builtin.hpp"

namespace attograd {

// CLI11 answers a misspelt command with "A subcommand is required"; name it.
std::string unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return "";
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == argv[1]) return "";
    names.push_back(sub->get_name());
  }
  return fmt::format("unknown command '{}'; the commands are {}", excerpt(argv[1]), fmt::join(names, ", "));
}

}  // namespace attograd

int main(int argc, char** argv) {
  CLI::App app{"attograd: a reverse-mode autodiff graph engine with parallel scheduling, and Transformers built on it"};
  app.require_subcommand(1);
  app.fallthrough(false);
  attograd::ensure_builtin_ops();
  attograd::add_train_command(app);
  attograd::add_eval_command(app);
  attograd::add_decode_command(app);
  attograd::add_sample_command(app);
  attograd::add_ops_command(app);
  attograd::add_profile_command(app);
  attograd::add_attention_command(app);
  attograd::add_plot_command(app);
  if (const std::string unknown = attograd::unknown_command(app, argc, argv); !unknown.empty()) {
    fmt::print(stderr, "attograd: error: {}\nRun with --help for more information.\n", unknown);
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 quotes a value it cannot convert whole: cut a long one short.
    if (e.get_exit_code() != 0 && std::string_view(e.what()).size() > 500) {
      fmt::print(stderr, "{}\nRun with --help for more information.\n", attograd::excerpt(e.what(), 500));
      return e.get_exit_code();
    }
    return app.exit(e);
  } catch (const attograd::AgreedError& e) {
    // Every rank of an MPI job has this error; rank 0 prints it, once
    // (attograd::train already has).
    if (e.print_here()) fmt::print(stderr, "attograd: error: {}\n", e.what());
    return 1;
  } catch (const attograd::Error& e) {
    fmt::print(stderr, "attograd: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "attograd: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
