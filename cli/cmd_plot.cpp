// attograd plot METRICS... --out FILE [--log-loss] [--title TEXT]
//
// Draws training loss, evaluation loss, learning rate, tokens/s and accuracy
// against step from the JSON-lines metrics files of `attograd train`, one
// colour per file (for comparing runs).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "viz/curves.hpp"
#include "viz/output.hpp"

namespace attograd {

void add_plot_command(CLI::App& app) {
  struct Args {
    std::vector<std::string> metrics;
    std::string out;
    CurveOptions curves;
    double png_scale = 1.0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("plot", "draw training curves from metrics files (several files: one line each)");
  cmd->add_option("metrics", a->metrics, "metrics files written by `attograd train --metrics`")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "picture path (.svg or .png)")->required();
  cmd->add_flag("--log-loss", a->curves.log_loss, "log-scale loss axis");
  cmd->add_option("--title", a->curves.title, "title above the legend");
  cmd->add_option("--png-scale", a->png_scale, "pixels per SVG unit for .png output")->check(CLI::Range(0.1, 16.0));
  cmd->callback([a] {
    check_drawing_path(a->out);
    std::vector<MetricsRun> runs;
    for (const std::string& path : a->metrics) runs.push_back(read_metrics(path));
    save_drawing(plot_curves(runs, a->curves), a->out, a->png_scale);
    fmt::print("picture: {}\n", a->out);
  });
}

}  // namespace attograd
