// Assembles the chart panels from the runs, lays them out two per row under
// the title and legend, and draws them with draw_chart_panel.
#include "viz/curves.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "viz/chart.hpp"
#include "viz/scale.hpp"

namespace attograd {
namespace {

using Field = std::optional<double> MetricRecord::*;

struct MetricSpec {
  const char* id;
  const char* title;
  Field field;
};

constexpr double legend_font = 12, swatch = 26, outer_margin = 12;

ChartSeries collect(const MetricsRun& run, Field field, const char* name, size_t index, bool dashed) {
  ChartSeries s{run.name, name, run_colour(index), dashed, {}};
  for (const MetricRecord& r : run.records) {
    const std::optional<double>& v = r.*field;
    if (v && std::isfinite(*v) && std::isfinite(r.step)) s.points.emplace_back(r.step, *v);
  }
  return s;
}

void add_if_points(ChartPanel& panel, ChartSeries s) {
  if (!s.points.empty()) panel.series.push_back(std::move(s));
}

void check_log_scale(const ChartPanel& loss) {
  for (const ChartSeries& s : loss.series)
    for (auto [step, y] : s.points)
      if (y <= 0)
        throw Error(fmt::format("[plot] a log-scale loss axis needs positive values: run '{}' has {} = {} at step {}",
                                s.run, s.name, y, step));
}

std::vector<ChartPanel> build_panels(const std::vector<MetricsRun>& runs, bool log_loss) {
  ChartPanel loss{"loss", log_loss ? "Loss (log scale)" : "Loss", "step", log_loss, {}};
  for (size_t i = 0; i < runs.size(); ++i) {
    add_if_points(loss, collect(runs[i], &MetricRecord::loss, "loss", i, false));
    add_if_points(loss, collect(runs[i], &MetricRecord::eval_loss, "eval_loss", i, true));
  }
  if (log_loss) check_log_scale(loss);
  std::vector<ChartPanel> panels{loss};
  const MetricSpec others[] = {{"lr", "Learning rate", &MetricRecord::lr},
                               {"tokens_per_s", "Throughput (tokens/s)", &MetricRecord::tokens_per_s},
                               {"accuracy", "Evaluation accuracy", &MetricRecord::accuracy}};
  for (const MetricSpec& m : others) {
    ChartPanel p{m.id, m.title, "step", false, {}};
    for (size_t i = 0; i < runs.size(); ++i) add_if_points(p, collect(runs[i], m.field, m.id, i, false));
    if (!p.series.empty()) panels.push_back(std::move(p));
  }
  return panels;
}

std::pair<double, double> step_extent(const std::vector<MetricsRun>& runs) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const MetricsRun& run : runs)
    for (const MetricRecord& r : run.records)
      if (std::isfinite(r.step)) {
        lo = std::min(lo, r.step);
        hi = std::max(hi, r.step);
      }
  return lo > hi ? std::pair{0.0, 1.0} : std::pair{lo, hi};
}

struct LegendEntry {
  std::string label;
  std::string colour;
  bool dashed;
  std::string run;  // empty for the line-style keys
};

// Draws the legend entries left to right, wrapping; returns the height used.
double draw_legend(SvgWriter& svg, const std::vector<LegendEntry>& entries, double top, double width) {
  svg.open("g", {{"class", "legend"}});
  double x = outer_margin + 50, y = top + legend_font, row = legend_font + 10;
  for (const LegendEntry& e : entries) {
    double w = swatch + 6 + text_width(e.label, legend_font) + 22;
    if (x + w > width - outer_margin && x > outer_margin + 50) {
      x = outer_margin + 50;
      y += row;
    }
    std::vector<SvgWriter::Attr> line{{"x1", x}, {"x2", x + swatch}, {"y1", y - 4}, {"y2", y - 4},
                                      {"stroke", e.colour}, {"stroke-width", 2.5}};
    if (e.dashed) line.emplace_back("stroke-dasharray", "6 4");
    svg.open("g", {{"class", "legend-entry"}, {"data-run", e.run}});
    svg.empty("line", line);
    svg.text(e.label, {{"x", x + swatch + 6}, {"y", y}, {"font-size", legend_font}, {"fill", "#222222"}});
    svg.close();
    x += w;
  }
  svg.close();
  return y - top + 10;
}

std::vector<LegendEntry> legend_entries(const std::vector<MetricsRun>& runs) {
  std::vector<LegendEntry> entries;
  bool has_eval = false;
  for (size_t i = 0; i < runs.size(); ++i) {
    entries.push_back({runs[i].name, run_colour(i), false, runs[i].name});
    for (const MetricRecord& r : runs[i].records) has_eval = has_eval || r.eval_loss.has_value();
  }
  if (has_eval) {
    entries.push_back({"training", "#777777", false, ""});
    entries.push_back({"evaluation", "#777777", true, ""});
  }
  return entries;
}

}  // namespace

Svg plot_curves(const std::vector<MetricsRun>& runs, const CurveOptions& options) {
  if (runs.empty()) throw Error("[plot] no metrics runs to plot");
  std::vector<ChartPanel> panels = build_panels(runs, options.log_loss);
  SvgWriter svg(options.width, options.height);
  svg.empty("rect", {{"width", "100%"}, {"height", "100%"}, {"fill", "#ffffff"}});
  double top = outer_margin;
  if (!options.title.empty()) {
    svg.text(options.title, {{"x", outer_margin + 50}, {"y", top + 16}, {"font-size", 17},
                             {"font-weight", "bold"}, {"fill", "#111111"}});
    top += 28;
  }
  top += draw_legend(svg, legend_entries(runs), top, options.width);
  size_t columns = panels.size() == 1 ? 1 : 2, rows = (panels.size() + columns - 1) / columns;
  double cell_w = (options.width - 2 * outer_margin) / columns;
  double cell_h = (options.height - top - outer_margin) / rows;
  auto [x_lo, x_hi] = step_extent(runs);
  for (size_t i = 0; i < panels.size(); ++i) {
    PlotBox box{outer_margin + (i % columns) * cell_w, top + (i / columns) * cell_h, cell_w, cell_h};
    draw_chart_panel(svg, panels[i], box, x_lo, x_hi);
  }
  return svg.finish();
}

}  // namespace attograd
