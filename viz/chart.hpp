// One x-y panel of a line chart: frame, grid, ticks, tick labels, title and
// one polyline per series. Used by the training-curve plot; knows nothing
// about metrics.
//
// Each series is one <polyline class="series" data-run=".." data-series="..">
// whose points attribute holds exactly one vertex per data point, in order;
// a series with at most `max_markers` points also gets a <circle
// class="marker"> per point so sparse series (evaluation) stay visible.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "viz/svg.hpp"

namespace attograd {

struct PlotBox {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
};

struct ChartSeries {
  std::string run;      // data-run
  std::string name;     // data-series, e.g. "loss", "eval_loss"
  std::string colour;   // "#rrggbb"
  bool dashed = false;
  std::vector<std::pair<double, double>> points;  // (x, y), finite
};

struct ChartPanel {
  std::string id;       // data-metric of the panel's <g class="panel">
  std::string title;
  std::string x_label;
  bool log_y = false;   // every y must then be > 0
  std::vector<ChartSeries> series;
};

constexpr int max_markers = 40;

// Draws `panel` into `box`, with x over [x_lo, x_hi] (the same for every
// panel of a figure so steps line up). Draws "no data" if no series has points.
void draw_chart_panel(SvgWriter& svg, const ChartPanel& panel, const PlotBox& box,
                      double x_lo, double x_hi);

}  // namespace attograd
