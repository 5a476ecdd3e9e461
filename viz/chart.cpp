// Layout inside a panel box: a fixed margin for the title (top), the y tick
// labels (left) and the x tick labels and axis label (bottom). Domains are
// widened to nice tick values so lines never run along the frame.
#include "viz/chart.hpp"

#include <algorithm>
#include <limits>

#include "viz/scale.hpp"

namespace attograd {
namespace {

constexpr double margin_left = 62, margin_right = 14, margin_top = 30, margin_bottom = 44;
constexpr double tick_font = 11, title_font = 13;

struct Frame {
  PlotBox plot;
  AxisScale x;
  AxisScale y;
};

std::pair<double, double> y_extent(const ChartPanel& panel) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const ChartSeries& s : panel.series)
    for (auto [x, y] : s.points) {
      lo = std::min(lo, y);
      hi = std::max(hi, y);
    }
  if (lo > hi) return panel.log_y ? std::pair{0.1, 10.0} : std::pair{0.0, 1.0};
  return {lo, hi};
}

Frame make_frame(const ChartPanel& panel, const PlotBox& box, double x_lo, double x_hi) {
  PlotBox plot{box.x + margin_left, box.y + margin_top, box.width - margin_left - margin_right,
           box.height - margin_top - margin_bottom};
  auto [xa, xb] = nice_domain(x_lo, x_hi, false);
  auto [ylo, yhi] = y_extent(panel);
  auto [ya, yb] = nice_domain(ylo, yhi, panel.log_y);
  return {plot, AxisScale{xa, xb, plot.x, plot.x + plot.width, false},
          AxisScale{ya, yb, plot.y + plot.height, plot.y, panel.log_y}};
}

void draw_axes(SvgWriter& svg, const Frame& f) {
  const PlotBox& p = f.plot;
  svg.empty("rect", {{"class", "plot-area"}, {"x", p.x}, {"y", p.y}, {"width", p.width},
                     {"height", p.height}, {"fill", "#ffffff"}, {"stroke", "#b0b0b0"}});
  auto y_ticks = f.y.log ? log_ticks(f.y.lo, f.y.hi) : nice_ticks(f.y.lo, f.y.hi, 5);
  std::vector<std::string> y_labels = format_ticks(y_ticks);
  for (size_t i = 0; i < y_ticks.size(); ++i) {
    double y = f.y(y_ticks[i]);
    svg.empty("line", {{"x1", p.x}, {"x2", p.x + p.width}, {"y1", y}, {"y2", y},
                       {"stroke", "#e6e6e6"}});
    svg.text(y_labels[i], {{"x", p.x - 6}, {"y", y + tick_font * 0.35}, {"font-size", tick_font},
                              {"text-anchor", "end"}, {"fill", "#555555"}});
  }
  std::vector<double> x_ticks = nice_ticks(f.x.lo, f.x.hi, 6);
  std::vector<std::string> x_labels = format_ticks(x_ticks);
  for (size_t i = 0; i < x_ticks.size(); ++i) {
    double x = f.x(x_ticks[i]);
    svg.empty("line", {{"x1", x}, {"x2", x}, {"y1", p.y}, {"y2", p.y + p.height},
                       {"stroke", "#eeeeee"}});
    svg.empty("line", {{"x1", x}, {"x2", x}, {"y1", p.y + p.height}, {"y2", p.y + p.height + 4},
                       {"stroke", "#888888"}});
    svg.text(x_labels[i], {{"x", x}, {"y", p.y + p.height + 6 + tick_font}, {"font-size", tick_font},
                              {"text-anchor", "middle"}, {"fill", "#555555"}});
  }
}

void draw_series(SvgWriter& svg, const Frame& f, const ChartSeries& s) {
  std::vector<SvgPoint> points;
  points.reserve(s.points.size());
  for (auto [x, y] : s.points) points.push_back({f.x(x), f.y(y)});
  std::vector<SvgWriter::Attr> attrs{{"class", "series"}, {"data-run", s.run}, {"data-series", s.name},
                                     {"points", format_points(points)}, {"fill", "none"},
                                     {"stroke", s.colour}, {"stroke-width", 1.8},
                                     {"stroke-linejoin", "round"}, {"stroke-linecap", "round"}};
  if (s.dashed) attrs.emplace_back("stroke-dasharray", "6 4");
  svg.empty("polyline", attrs);
  if (points.size() > static_cast<size_t>(max_markers)) return;
  for (const SvgPoint& p : points)
    svg.empty("circle", {{"class", "marker"}, {"cx", p.x}, {"cy", p.y}, {"r", 3},
                         {"fill", s.dashed ? "#ffffff" : s.colour}, {"stroke", s.colour},
                         {"stroke-width", 1.5}});
}

bool has_points(const ChartPanel& panel) {
  return std::any_of(panel.series.begin(), panel.series.end(),
                     [](const ChartSeries& s) { return !s.points.empty(); });
}

}  // namespace

void draw_chart_panel(SvgWriter& svg, const ChartPanel& panel, const PlotBox& box, double x_lo,
                      double x_hi) {
  svg.open("g", {{"class", "panel"}, {"data-metric", panel.id}});
  Frame f = make_frame(panel, box, x_lo, x_hi);
  svg.text(panel.title, {{"x", f.plot.x}, {"y", box.y + margin_top - 10}, {"font-size", title_font},
                         {"font-weight", "bold"}, {"fill", "#222222"}});
  draw_axes(svg, f);
  svg.text(panel.x_label, {{"x", f.plot.x + f.plot.width / 2}, {"y", box.y + box.height - 6},
                           {"font-size", tick_font}, {"text-anchor", "middle"}, {"fill", "#555555"}});
  if (!has_points(panel))
    svg.text("no data", {{"x", f.plot.x + f.plot.width / 2}, {"y", f.plot.y + f.plot.height / 2},
                         {"font-size", title_font}, {"text-anchor", "middle"}, {"fill", "#999999"}});
  for (const ChartSeries& s : panel.series) draw_series(svg, f, s);
  svg.close();
}

}  // namespace attograd
