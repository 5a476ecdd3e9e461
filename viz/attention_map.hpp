// Attention weights of a Transformer, as data and as pictures.
//
// An AttentionMap holds one layer of one kind of attention for one example:
// weights (H, Q, K) where row q is the softmax over keys for query token q.
//   encoder self-attention:  queries = keys = source tokens      (H, S, S)
//   decoder self-attention:  queries = keys = target tokens      (H, T, T)
//   cross-attention:         queries = target, keys = source     (H, T, S)
//
// plot_attention draws one figure per kind: for each layer a row of panels,
// the head average first, then one panel per head; rows are queries, columns
// keys, tokens on both axes, a 0..1 viridis colour scale on the right. Each
// panel is a <g class="panel" data-layer="L" data-head="h"> with h the head
// index or "mean".
//
//   AttentionMap m{AttentionKind::cross, 0, {"Le", "chat"}, {"The", "cat", "<eos>"}, 2, w};
//   save_drawing(plot_attention({m}, AttentionKind::cross), "cross.svg");
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "viz/svg.hpp"

namespace attograd {

enum class AttentionKind { encoder_self, decoder_self, cross };

// "encoder self-attention", "decoder self-attention", "cross-attention".
std::string attention_kind_name(AttentionKind kind);
// "encoder_self_attention", "decoder_self_attention", "cross_attention".
std::string attention_kind_slug(AttentionKind kind);
// Accepts the name or the slug; throws Error "[attention] unknown kind ...".
AttentionKind parse_attention_kind(std::string_view text);

struct AttentionMap {
  AttentionKind kind = AttentionKind::encoder_self;
  int layer = 0;
  std::vector<std::string> queries;  // row labels, Q of them
  std::vector<std::string> keys;     // column labels, K of them
  int heads = 0;                     // H
  std::vector<float> weights;        // (H, Q, K) row-major: [(h * Q + q) * K + k]

  float weight(int head, size_t query, size_t key) const {
    return weights[(head * queries.size() + query) * keys.size() + key];
  }
};

// Throws ShapeError "[attention] <kind> layer L: ..." unless heads >= 1,
// there is at least one query and one key, weights.size() == H*Q*K, and every
// weight is finite.
void check_attention_map(const AttentionMap& map);

struct AttentionPlotOptions {
  std::vector<int> layers;  // layers to draw (by AttentionMap::layer); empty: all
  std::vector<int> heads;   // heads to draw; empty: all
  bool show_mean = true;    // the head-average panel (mean over all H heads)
  int columns = 0;          // panels per row; 0: a layer's panels in rows of at most 6
  std::string title;        // empty: the kind's name
};

// The kinds that occur in `maps`, in enum order.
std::vector<AttentionKind> attention_kinds(const std::vector<AttentionMap>& maps);

// One figure for the maps of `kind`, layers in ascending order. Throws Error
// "[attention] ..." when there is no map of that kind, when a requested layer
// or head does not exist (naming those that do), or when nothing is left to
// draw; ShapeError as check_attention_map.
Svg plot_attention(const std::vector<AttentionMap>& maps, AttentionKind kind,
                   const AttentionPlotOptions& options = {});

// Draws every kind present and saves each next to `path` with the kind's slug
// appended to the stem: "attn.svg" -> "attn_encoder_self_attention.svg", ...
// The extension picks the format as in save_drawing. Returns the paths written.
std::vector<std::filesystem::path> save_attention_plots(const std::vector<AttentionMap>& maps,
                                                        const std::filesystem::path& path,
                                                        const AttentionPlotOptions& options = {},
                                                        double png_scale = 1.0);

}  // namespace attograd
