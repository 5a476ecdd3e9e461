// attograd ops [--plugin PATH]...
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "engine/plugin.hpp"
#include "engine/registry.hpp"
#include "io/regular_file.hpp"

namespace attograd {

void add_ops_command(CLI::App& app) {
  auto plugins = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand(
      "ops", "list the registered ops (built-in, and plugins given with --plugin); 'bf16': has bf16 product kernels");
  cmd->add_option("--plugin", *plugins, "load an op plugin (shared library) first; repeatable");
  cmd->callback([plugins] {
    for (const std::string& path : *plugins) {
      require_regular_file(path, "plugin");  // dlopen of a FIFO would block forever
      const PluginInfo info = load_plugin(path);
      fmt::print(stderr, "loaded {}: {} op(s)\n", path, info.ops.size());
    }
    const OpRegistry& r = default_registry();
    for (const std::string& name : r.names()) {
      const OpSchema& s = r.schema(name);
      fmt::print("{:<18} {:<5} {}{}\n", name, s.bf16_kernel ? "bf16" : "", s.summary,
                 s.origin == "builtin" ? "" : fmt::format("  [{}]", s.origin));
    }
  });
}

}  // namespace attograd
