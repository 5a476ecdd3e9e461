// Cells are square and share one size per figure so panels line up; labels
// shrink with the cells down to 7 px and are thinned (every stride-th) below
// that, so long sequences still give a readable picture.
#include "viz/heatmap.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "viz/scale.hpp"

namespace attograd {
namespace {

constexpr double title_height = 20, gap = 4, pad = 18, title_font = 12;

double widest_label(const std::vector<std::string>& labels, double font) {
  double w = 0;
  for (const std::string& s : labels) w = std::max(w, text_width(display_token(s), font));
  return w;
}

void draw_cells(SvgWriter& svg, const HeatmapPanel& p, double cell, double mx, double my) {
  size_t nr = p.rows->size(), nc = p.columns->size();
  svg.open("g", {{"class", "cells"}, {"shape-rendering", "crispEdges"}});
  for (size_t r = 0; r < nr; ++r)
    for (size_t c = 0; c < nc; ++c)
      svg.empty("rect", {{"x", mx + c * cell}, {"y", my + r * cell}, {"width", cell},
                         {"height", cell}, {"fill", viridis(p.values[r * nc + c])}});
  svg.close();
  svg.empty("rect", {{"x", mx}, {"y", my}, {"width", nc * cell}, {"height", nr * cell},
                     {"fill", "none"}, {"stroke", "#888888"}, {"stroke-width", 0.8}});
}

void draw_labels(SvgWriter& svg, const HeatmapPanel& p, const HeatmapLayout& l, double mx, double my) {
  const std::vector<std::string>& rows = *p.rows;
  const std::vector<std::string>& cols = *p.columns;
  svg.open("g", {{"class", "row-labels"}, {"font-size", l.font}, {"fill", "#333333"}, {"text-anchor", "end"}});
  for (size_t r = 0; r < rows.size(); r += l.stride)
    svg.text(display_token(rows[r]), {{"x", mx - gap}, {"y", my + (r + 0.5) * l.cell + l.font * 0.35}});
  svg.close();
  double below = my + rows.size() * l.cell + gap;
  svg.open("g", {{"class", "column-labels"}, {"font-size", l.font}, {"fill", "#333333"}, {"text-anchor", "end"}});
  for (size_t c = 0; c < cols.size(); c += l.stride) {
    double x = mx + (c + 0.5) * l.cell + l.font * 0.35;
    svg.text(display_token(cols[c]),
             {{"x", x}, {"y", below}, {"transform", fmt::format("rotate(-90 {} {})", format_number(x), format_number(below))}});
  }
  svg.close();
}

}  // namespace

HeatmapLayout heatmap_layout(const std::vector<std::string>& rows,
                             const std::vector<std::string>& columns, double max_matrix_side) {
  HeatmapLayout l;
  double n = static_cast<double>(std::max({rows.size(), columns.size(), size_t{1}}));
  l.cell = std::clamp(std::floor(max_matrix_side / n), 3.0, 22.0);
  l.font = std::clamp(l.cell * 0.75, 7.0, 11.0);
  l.stride = static_cast<size_t>(std::max(1.0, std::ceil(l.font * 1.15 / l.cell)));
  l.row_label_width = widest_label(rows, l.font) + 2 * gap;
  l.col_label_height = widest_label(columns, l.font) + 2 * gap;
  double matrix_w = columns.size() * l.cell, matrix_h = rows.size() * l.cell;
  l.width = l.row_label_width + std::max(matrix_w, text_width("mean of 16 heads", title_font)) + pad;
  l.height = title_height + matrix_h + l.col_label_height + pad;
  return l;
}

void draw_heatmap(SvgWriter& svg, const HeatmapPanel& panel, const HeatmapLayout& layout,
                  double x, double y) {
  svg.open("g", panel.group_attributes);
  double mx = x + layout.row_label_width, my = y + title_height;
  svg.text(panel.title, {{"x", mx}, {"y", y + 14}, {"font-size", title_font}, {"fill", "#222222"}});
  draw_cells(svg, panel, layout.cell, mx, my);
  draw_labels(svg, panel, layout, mx, my);
  svg.close();
}

void draw_colour_scale(SvgWriter& svg, double x, double y, double height) {
  svg.open("defs");
  svg.open("linearGradient", {{"id", "attograd-viridis"}, {"x1", 0}, {"y1", 1}, {"x2", 0}, {"y2", 0}});
  for (int i = 0; i <= 10; ++i)
    svg.empty("stop", {{"offset", i / 10.0}, {"stop-color", viridis(i / 10.0)}});
  svg.close();
  svg.close();
  svg.open("g", {{"class", "colour-scale"}, {"font-size", 11}, {"fill", "#333333"}});
  svg.text("weight", {{"x", x}, {"y", y - 8}});
  svg.empty("rect", {{"x", x}, {"y", y}, {"width", 14}, {"height", height},
                     {"fill", "url(#attograd-viridis)"}, {"stroke", "#888888"}, {"stroke-width", 0.8}});
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    double ty = y + height * (1 - t);
    svg.empty("line", {{"x1", x + 14}, {"x2", x + 18}, {"y1", ty}, {"y2", ty}, {"stroke", "#555555"}});
    svg.text(format_tick(t), {{"x", x + 21}, {"y", ty + 4}});
  }
  svg.close();
}

std::string display_token(const std::string& token) {
  std::string out;
  bool all_spaces = true;
  for (char c : token) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else out += c;
    all_spaces = all_spaces && c == ' ';
  }
  if (all_spaces) {
    out.clear();
    for (size_t i = 0; i < std::max<size_t>(token.size(), 1); ++i) out += "\xE2\x90\xA3";  // ␣
  }
  return shorten(out, 14);
}

}  // namespace attograd
