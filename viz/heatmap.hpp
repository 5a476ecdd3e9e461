// One labelled heatmap panel (a matrix of values in [0, 1] drawn with
// viridis, row labels on the left, column labels written downwards below it,
// a title above) and the vertical colour scale that goes with it. Used by the
// attention plots; knows nothing about attention.
#pragma once

#include <string>
#include <vector>

#include "viz/svg.hpp"

namespace attograd {

// Sizes of a panel for a given number of rows and columns and their labels.
struct HeatmapLayout {
  double cell = 0;            // side of one square cell
  double font = 0;            // label font size
  size_t stride = 1;          // every stride-th label is written (all when 1)
  double row_label_width = 0;
  double col_label_height = 0;
  double width = 0;           // the whole panel, labels and title included
  double height = 0;
};

// Cells as large as fit `max_matrix_side` pixels (between 3 and 22 px).
HeatmapLayout heatmap_layout(const std::vector<std::string>& rows,
                             const std::vector<std::string>& columns, double max_matrix_side);

struct HeatmapPanel {
  std::string title;
  const std::vector<std::string>* rows = nullptr;
  const std::vector<std::string>* columns = nullptr;
  const float* values = nullptr;  // (rows, columns), row-major
  std::vector<SvgWriter::Attr> group_attributes;  // of the panel's <g>
};

// Draws `panel` with its top-left corner at (x, y) using `layout`.
void draw_heatmap(SvgWriter& svg, const HeatmapPanel& panel, const HeatmapLayout& layout,
                  double x, double y);

// A vertical viridis bar for 0..1 with ticks, top-left at (x, y); needs a
// <defs> with the gradient, which it writes itself (id "attograd-viridis").
void draw_colour_scale(SvgWriter& svg, double x, double y, double height);

// How a token is written on an axis: at most 14 characters, newlines and tabs
// shown as \n and \t, a token of spaces shown with ␣ so it is visible.
std::string display_token(const std::string& token);

}  // namespace attograd
