// Draws the viz library's pictures from made-up but plausible data, with no
// training: training curves of two runs and the three kinds of attention of
// a small translation model, as SVG (or PNG) files. The README's pictures
// come from real runs instead (see its "Pictures" section).
//
//   build/examples/viz_gallery /tmp/gallery          # SVGs
//   build/examples/viz_gallery /tmp/gallery .png     # PNGs (and attention.json)
#include <cmath>
#include <cstdio>
#include <exception>

#include "viz/attention_json.hpp"
#include "viz/attention_map.hpp"
#include "viz/curves.hpp"
#include "viz/output.hpp"

using namespace attograd;

namespace {

// A tiny deterministic noise source (a 64-bit LCG), so the pictures never change.
struct Noise {
  unsigned long long state;
  double next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0 - 0.5;
  }
};

// Inverse-square-root schedule with warmup, loss decaying towards `floor`.
MetricsRun make_run(const char* name, double d_model, double floor, unsigned long long seed) {
  MetricsRun run{name, {}};
  Noise noise{seed};
  for (int step = 50; step <= 4000; step += 50) {
    double lr = std::pow(d_model, -0.5) * std::min(std::pow(step, -0.5), step * std::pow(800.0, -1.5));
    double loss = floor + 7.5 * std::exp(-step / 700.0) + 1.2 * std::exp(-step / 3000.0);
    run.records.push_back({double(step), loss * (1 + 0.04 * noise.next()), lr,
                           (d_model > 256 ? 3100 : 5200) * (1 + 0.03 * noise.next()), {}, {}});
    if (step % 500 == 0)
      run.records.push_back({double(step), {}, {}, {}, loss * 1.06 + 0.1, 0.72 - 0.6 * std::exp(-step / 1200.0) - floor / 20});
  }
  return run;
}

// Rows of a softmax whose scores prefer key `focus(q, h)`; keys after the
// query are masked when `causal`, and "<pad>" keys always, as in a real model.
template <class Focus>
AttentionMap make_map(AttentionKind kind, int layer, int heads, const std::vector<std::string>& queries,
                      const std::vector<std::string>& keys, bool causal, Focus focus) {
  AttentionMap m{kind, layer, queries, keys, heads, {}};
  Noise noise{static_cast<unsigned long long>(17 + 31 * layer + 7 * static_cast<int>(kind))};
  for (int h = 0; h < heads; ++h)
    for (size_t q = 0; q < queries.size(); ++q) {
      std::vector<double> row(keys.size());
      double total = 0, sharp = 0.6 + 0.5 * h + 0.4 * layer;
      for (size_t k = 0; k < keys.size(); ++k) {
        double d = static_cast<double>(k) - focus(static_cast<double>(q), h);
        bool masked = (causal && k > q) || keys[k] == "<pad>";
        row[k] = masked ? 0 : std::exp(-sharp * d * d + 0.8 * noise.next());
        total += row[k];
      }
      for (double w : row) m.weights.push_back(static_cast<float>(w / total));
    }
  return m;
}

std::vector<AttentionMap> make_maps() {
  std::vector<std::string> src{"<bos>", "Der", "Hund", "schläft", "&", "die", "Katze", "spielt", "<eos>", "<pad>"};
  std::vector<std::string> tgt{"<bos>", "The", "dog", "sleeps", "&", "the", "cat", "plays", "<eos>"};
  std::vector<AttentionMap> maps;
  for (int layer = 0; layer < 2; ++layer) {
    maps.push_back(make_map(AttentionKind::encoder_self, layer, 4, src, src, false,
                            [](double q, int h) { return h == 3 ? 8 : q + (h % 3) - 1; }));
    maps.push_back(make_map(AttentionKind::decoder_self, layer, 4, tgt, tgt, true,
                            [](double q, int h) { return h == 2 ? 0 : q - (h % 2); }));
    maps.push_back(make_map(AttentionKind::cross, layer, 4, tgt, src, false,
                            [](double q, int h) { return q + 1 + (h == 3 ? 1 : 0); }));
  }
  return maps;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = argc > 1 ? argv[1] : ".";
  std::string ext = argc > 2 ? argv[2] : ".svg";
  try {
    CurveOptions curves;
    curves.title = "Training curves (example data)";
    curves.log_loss = true;
    Svg plot = plot_curves({make_run("base", 512, 1.9, 1), make_run("small", 256, 2.3, 2)}, curves);
    save_drawing(plot, dir / ("curves" + ext), 1.5);
    std::vector<AttentionMap> maps = make_maps();
    if (ext != ".svg") write_attention_json(maps, dir / "attention.json");
    for (const auto& path : save_attention_plots(maps, dir / ("attention" + ext), {}, 1.5))
      std::printf("wrote %s\n", path.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "viz_gallery: %s\n", e.what());
    return 1;
  }
  return 0;
}
