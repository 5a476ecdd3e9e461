// Layout: every panel of a figure gets the same box (the largest any map
// needs), so panels line up in a grid; each layer starts a new row under a
// "Layer L" heading. The geometry is planned first because the <svg> element
// needs the figure's size before anything is drawn.
#include "viz/attention_map.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/error.hpp"
#include "viz/heatmap.hpp"
#include "viz/output.hpp"

namespace attograd {
namespace {

constexpr double margin = 16, title_h = 58, layer_h = 24, scale_w = 90, max_matrix_side = 260;
constexpr int mean_head = -1;

struct LayerPlan {
  const AttentionMap* map;
  std::vector<int> heads;  // mean_head first when the mean is shown
  HeatmapLayout layout;
};

std::vector<const AttentionMap*> maps_of_kind(const std::vector<AttentionMap>& maps, AttentionKind kind,
                                              const std::vector<int>& layers) {
  std::vector<const AttentionMap*> found;
  std::vector<int> available;
  for (const AttentionMap& m : maps) {
    if (m.kind != kind) continue;
    check_attention_map(m);
    if (std::find(available.begin(), available.end(), m.layer) != available.end())
      throw Error(fmt::format("[attention] two {} maps for layer {}", attention_kind_name(kind), m.layer));
    available.push_back(m.layer);
    if (layers.empty() || std::find(layers.begin(), layers.end(), m.layer) != layers.end()) found.push_back(&m);
  }
  if (available.empty()) throw Error(fmt::format("[attention] no {} maps to plot", attention_kind_name(kind)));
  std::sort(available.begin(), available.end());
  for (int l : layers)
    if (std::find(available.begin(), available.end(), l) == available.end())
      throw Error(fmt::format("[attention] {} has no layer {}; layers: {}", attention_kind_name(kind), l,
                              fmt::join(available, ", ")));
  std::sort(found.begin(), found.end(), [](auto* a, auto* b) { return a->layer < b->layer; });
  return found;
}

std::vector<int> heads_to_draw(const AttentionMap& m, const AttentionPlotOptions& options) {
  std::vector<int> heads;
  if (options.show_mean) heads.push_back(mean_head);
  for (int h : options.heads)
    if (h < 0 || h >= m.heads)
      throw Error(fmt::format("[attention] {} layer {} has no head {}; heads: 0..{}",
                              attention_kind_name(m.kind), m.layer, h, m.heads - 1));
  for (int h = 0; h < m.heads; ++h)
    if (options.heads.empty() || std::find(options.heads.begin(), options.heads.end(), h) != options.heads.end())
      heads.push_back(h);
  if (heads.empty()) throw Error("[attention] nothing to draw: no heads selected and the mean is off");
  return heads;
}

std::vector<float> head_mean(const AttentionMap& m) {
  size_t n = m.queries.size() * m.keys.size();
  std::vector<float> mean(n, 0.0f);
  for (int h = 0; h < m.heads; ++h)
    for (size_t i = 0; i < n; ++i) mean[i] += m.weights[h * n + i];
  for (float& v : mean) v /= static_cast<float>(m.heads);
  return mean;
}

size_t columns_for(size_t panels, int requested) {
  if (requested > 0) return static_cast<size_t>(requested);
  size_t rows = (panels + 5) / 6;
  return (panels + rows - 1) / rows;
}

void draw_layer(SvgWriter& svg, const LayerPlan& plan, double box_w, double box_h, size_t columns,
                double y) {
  const AttentionMap& m = *plan.map;
  svg.text(fmt::format("Layer {}", m.layer), {{"x", margin}, {"y", y + 16}, {"font-size", 14},
                                               {"font-weight", "bold"}, {"fill", "#222222"}});
  std::vector<float> mean = head_mean(m);
  size_t qk = m.queries.size() * m.keys.size();
  for (size_t i = 0; i < plan.heads.size(); ++i) {
    int h = plan.heads[i];
    HeatmapPanel panel{h == mean_head ? fmt::format("mean of {} heads", m.heads) : fmt::format("head {}", h),
                       &m.queries, &m.keys, h == mean_head ? mean.data() : m.weights.data() + h * qk,
                       {{"class", "panel"}, {"data-layer", std::to_string(m.layer)},
                        {"data-head", h == mean_head ? std::string("mean") : std::to_string(h)}}};
    draw_heatmap(svg, panel, plan.layout, margin + (i % columns) * box_w, y + layer_h + (i / columns) * box_h);
  }
}

}  // namespace

Svg plot_attention(const std::vector<AttentionMap>& maps, AttentionKind kind,
                   const AttentionPlotOptions& options) {
  std::vector<LayerPlan> plans;
  double box_w = 0, box_h = 0;
  size_t columns = 1;
  for (const AttentionMap* m : maps_of_kind(maps, kind, options.layers)) {
    LayerPlan p{m, heads_to_draw(*m, options), heatmap_layout(m->queries, m->keys, max_matrix_side)};
    box_w = std::max(box_w, p.layout.width);
    box_h = std::max(box_h, p.layout.height);
    columns = std::max(columns, columns_for(p.heads.size(), options.columns));
    plans.push_back(std::move(p));
  }
  double height = title_h;
  for (const LayerPlan& p : plans) height += layer_h + ((p.heads.size() + columns - 1) / columns) * box_h;
  double width = 2 * margin + columns * box_w + scale_w;
  SvgWriter svg(width, height + margin);
  svg.empty("rect", {{"width", "100%"}, {"height", "100%"}, {"fill", "#ffffff"}});
  std::string title = options.title.empty() ? attention_kind_name(kind) : options.title;
  if (!title.empty()) title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
  svg.text(title, {{"x", margin}, {"y", margin + 14}, {"font-size", 17}, {"font-weight", "bold"}, {"fill", "#111111"}});
  svg.text("rows: query tokens, columns: key tokens; each row sums to 1",
           {{"x", margin}, {"y", margin + 32}, {"font-size", 11}, {"fill", "#666666"}});
  draw_colour_scale(svg, width - scale_w + 16, title_h + layer_h + 20, std::min(220.0, std::max(box_h - 40, 80.0)));
  double y = title_h;
  for (const LayerPlan& p : plans) {
    draw_layer(svg, p, box_w, box_h, columns, y);
    y += layer_h + ((p.heads.size() + columns - 1) / columns) * box_h;
  }
  return svg.finish();
}

}  // namespace attograd

namespace attograd {

std::string attention_kind_name(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::encoder_self: return "encoder self-attention";
    case AttentionKind::decoder_self: return "decoder self-attention";
    case AttentionKind::cross: return "cross-attention";
  }
  return "unknown attention";
}

std::string attention_kind_slug(AttentionKind kind) {
  std::string slug = attention_kind_name(kind);
  std::replace(slug.begin(), slug.end(), ' ', '_');
  std::replace(slug.begin(), slug.end(), '-', '_');
  return slug;
}

AttentionKind parse_attention_kind(std::string_view text) {
  for (AttentionKind k : {AttentionKind::encoder_self, AttentionKind::decoder_self, AttentionKind::cross})
    if (text == attention_kind_name(k) || text == attention_kind_slug(k)) return k;
  throw Error(fmt::format("[attention] unknown kind '{}': use \"encoder self-attention\", "
                          "\"decoder self-attention\" or \"cross-attention\"", text));
}

void check_attention_map(const AttentionMap& m) {
  std::string where = fmt::format("[attention] {} layer {}", attention_kind_name(m.kind), m.layer);
  if (m.heads < 1) throw ShapeError(fmt::format("{}: needs at least one head, has {}", where, m.heads));
  if (m.queries.empty() || m.keys.empty())
    throw ShapeError(fmt::format("{}: needs query and key tokens, has {} and {}", where, m.queries.size(), m.keys.size()));
  size_t expected = static_cast<size_t>(m.heads) * m.queries.size() * m.keys.size();
  if (m.weights.size() != expected)
    throw ShapeError(fmt::format("{}: weights hold {} values, (H, Q, K) = ({}, {}, {}) needs {}", where,
                                 m.weights.size(), m.heads, m.queries.size(), m.keys.size(), expected));
  for (size_t i = 0; i < m.weights.size(); ++i)
    if (!std::isfinite(m.weights[i]))
      throw ShapeError(fmt::format("{}: weight {} is {}", where, i, m.weights[i]));
}

std::vector<AttentionKind> attention_kinds(const std::vector<AttentionMap>& maps) {
  std::vector<AttentionKind> kinds;
  for (AttentionKind k : {AttentionKind::encoder_self, AttentionKind::decoder_self, AttentionKind::cross})
    if (std::any_of(maps.begin(), maps.end(), [k](const AttentionMap& m) { return m.kind == k; }))
      kinds.push_back(k);
  return kinds;
}

std::vector<std::filesystem::path> save_attention_plots(const std::vector<AttentionMap>& maps,
                                                        const std::filesystem::path& path,
                                                        const AttentionPlotOptions& options,
                                                        double png_scale) {
  check_drawing_path(path);
  std::vector<std::filesystem::path> written;
  for (AttentionKind kind : attention_kinds(maps)) {
    std::filesystem::path out = path;
    out.replace_filename(path.stem().string() + "_" + attention_kind_slug(kind) + path.extension().string());
    save_drawing(plot_attention(maps, kind, options), out, png_scale);
    written.push_back(out);
  }
  if (written.empty()) throw Error("[attention] no attention maps to plot");
  return written;
}

}  // namespace attograd
