// attograd: train, evaluate, decode, profile and draw Transformers built from
// graph ops. `attograd --help` and `attograd COMMAND --help` list everything.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "engine/error.hpp"
#include "ops/builtin.hpp"

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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const attograd::Error& e) {
    fmt::print(stderr, "attograd: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "attograd: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
