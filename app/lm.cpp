#include "app/lm.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "io/regular_file.hpp"
#include "engine/leaves.hpp"
#include "engine/rng.hpp"
#include "models/loss.hpp"
#include "ops/mask.hpp"

namespace attograd {
namespace {

constexpr std::int64_t kContext = 128;  // characters sample() and attention() look back

// The last kContext ids (all of them if fewer) as a (1, T) batch.
Tensor last_window(const std::vector<std::int32_t>& ids) {
  const auto t = std::min<std::int64_t>(kContext, static_cast<std::int64_t>(ids.size()));
  Tensor window = Tensor::empty(DType::i32, {1, t});
  std::copy(ids.end() - t, ids.end(), window.data<std::int32_t>());
  return window;
}

}  // namespace

CharVocab::CharVocab(const std::string& text) {
  std::vector<bool> seen(256, false);
  for (unsigned char c : text) seen[c] = true;
  for (int c = 0; c < 256; ++c)
    if (seen[static_cast<std::size_t>(c)]) chars_.push_back(static_cast<char>(c));
  for (std::size_t i = 0; i < chars_.size(); ++i) ids_[chars_[i]] = static_cast<std::int32_t>(i + 1);
}

CharVocab CharVocab::from_alphabet(const std::string& alphabet) { return CharVocab(alphabet); }

std::vector<std::int32_t> CharVocab::encode(const std::string& text) const {
  std::vector<std::int32_t> ids;
  ids.reserve(text.size());
  for (char c : text) {
    auto it = ids_.find(c);
    if (it == ids_.end())
      throw Error(fmt::format("[lm] character '{}' (byte {}) is not in the model's alphabet", c,
                              static_cast<int>(static_cast<unsigned char>(c))));
    ids.push_back(it->second);
  }
  return ids;
}

std::string CharVocab::decode(const std::vector<std::int32_t>& ids) const {
  std::string out;
  for (auto id : ids)
    if (id > 0 && id <= static_cast<std::int32_t>(chars_.size())) out.push_back(chars_[static_cast<std::size_t>(id - 1)]);
  return out;
}

struct LanguageModel::Net {
  std::unique_ptr<Graph> graph;
  Expr ids, targets, logits, loss;
  std::vector<AttentionTap> taps;  // every layer's attention weights (B, H, T, T), for attention()
};

LanguageModel::LanguageModel(const CharVocab& vocab, const TransformerConfig& config, std::uint64_t seed, int threads,
                             double label_smoothing)
    : vocab_(vocab),
      config_(config),
      label_smoothing_(label_smoothing),
      params_(seed),
      executor_(Backend::tbb, threads),
      nets_([this](const ShapeKey& k) {
        auto n = std::make_unique<Net>();
        n->graph = std::make_unique<Graph>(&params_);
        Graph& g = *n->graph;
        n->ids = input(g, "ids", {DType::i32, {k[0], k[1]}});
        n->targets = input(g, "targets", {DType::i32, {k[0], k[1]}});
        n->logits = decoder_only_lm(config_, n->ids, subsequent_mask(g, k[1]), &n->taps);
        n->loss = label_smoothed_loss(n->logits, n->targets, 0, label_smoothing_);
        return n;
      }) {
  config_.tgt_vocab = vocab.size();
  config_.src_vocab = vocab.size();
  net(1, 1);  // create every parameter now
}

LanguageModel::~LanguageModel() = default;

LanguageModel::Net& LanguageModel::net(std::int64_t batch, std::int64_t length) { return nets_.get({batch, length}); }

double LanguageModel::train_step(const LmBatch& b, const RunOptions& options) {
  Net& n = net(b.ids.shape()[0], b.ids.shape()[1]);
  executor_.forward(*n.graph, {{n.ids.id, b.ids}, {n.targets.id, b.targets}}, {n.loss.id}, options);
  executor_.backward(n.loss.id);
  return executor_.value(n.loss.id).item();
}

std::pair<double, double> LanguageModel::evaluate(const std::vector<LmBatch>& batches) {
  double loss = 0;
  std::int64_t tokens = 0, correct = 0;
  const RunOptions options = inference_options();
  for (const LmBatch& b : batches) {
    Net& n = net(b.ids.shape()[0], b.ids.shape()[1]);
    executor_.forward(*n.graph, {{n.ids.id, b.ids}, {n.targets.id, b.targets}}, {n.loss.id, n.logits.id}, options);
    loss += executor_.value(n.loss.id).item() * static_cast<double>(b.tokens);
    const Tensor& logits = executor_.value(n.logits.id);
    const std::int64_t v = logits.shape()[2];
    const std::int32_t* y = b.targets.data<std::int32_t>();
    for (std::int64_t i = 0; i < b.targets.numel(); ++i) {
      const float* row = logits.data<float>() + i * v;
      correct += y[i] != 0 && (std::max_element(row, row + v) - row) == y[i];
    }
    tokens += b.tokens;
  }
  return {tokens ? loss / static_cast<double>(tokens) : 0.0,
          tokens ? static_cast<double>(correct) / static_cast<double>(tokens) : 0.0};
}

std::vector<Tensor> LanguageModel::attention(const std::string& text) {
  std::vector<std::int32_t> ids = vocab_.encode(text);
  if (ids.empty()) throw Error("[lm] no text to attend over");
  const Tensor window = last_window(ids);
  const std::int64_t t = window.shape()[1];
  Net& n = net(1, t);
  std::vector<NodeId> targets;
  for (const AttentionTap& tap : n.taps) targets.push_back(tap.weights.id);
  const RunOptions options = inference_options();
  executor_.forward(*n.graph, {{n.ids.id, window}, {n.targets.id, window}}, targets, options);
  std::vector<Tensor> weights;
  for (const AttentionTap& tap : n.taps) {
    const Tensor& w = executor_.value(tap.weights.id);  // (1, H, T, T)
    weights.push_back(w.clone().reshaped({w.shape()[1], t, t}));
  }
  return weights;
}

std::string LanguageModel::sample(const std::string& prompt, std::int64_t length, double temperature, int top_k,
                                  std::uint64_t seed) {
  if (temperature <= 0) throw Error(fmt::format("[lm] temperature must be > 0, got {}", temperature));
  std::vector<std::int32_t> ids = vocab_.encode(prompt.empty() ? std::string(" ") : prompt);
  const RunOptions options = inference_options();
  for (std::int64_t step = 0; step < length; ++step) {
    const Tensor window = last_window(ids);
    const std::int64_t t = window.shape()[1];
    Net& n = net(1, t);
    executor_.forward(*n.graph, {{n.ids.id, window}, {n.targets.id, window}}, {n.logits.id}, options);
    const Tensor& logits = executor_.value(n.logits.id);
    const std::int64_t v = logits.shape()[2];
    const float* row = logits.data<float>() + (t - 1) * v;
    std::vector<std::int32_t> order(static_cast<std::size_t>(v - 1));
    std::iota(order.begin(), order.end(), 1);  // never sample padding
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return row[a] > row[b]; });
    if (top_k > 0 && static_cast<std::size_t>(top_k) < order.size()) order.resize(static_cast<std::size_t>(top_k));
    std::vector<double> p;
    for (auto id : order) p.push_back(std::exp((row[id] - row[order[0]]) / temperature));
    const double total = std::accumulate(p.begin(), p.end(), 0.0);
    const auto r = philox(seed, 7, static_cast<std::uint64_t>(step));
    double u = uniform01(r[0], r[1]) * total;
    std::size_t pick = 0;
    while (pick + 1 < p.size() && u >= p[pick]) u -= p[pick++];
    ids.push_back(order[pick]);
  }
  return vocab_.decode(ids);
}

std::string read_text_file(const std::string& path) {
  require_regular_file(path, "lm");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(fmt::format("[lm] cannot read the text file '{}'", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

LmBatch sample_lm_batch(const std::vector<std::int32_t>& ids, std::uint64_t seed, std::uint64_t index,
                        std::int64_t batch, std::int64_t length) {
  if (static_cast<std::int64_t>(ids.size()) <= length + 1)
    throw Error(fmt::format("[lm] the text has {} characters; it needs more than the context length {}", ids.size(),
                            length + 1));
  LmBatch b{Tensor::empty(DType::i32, {batch, length}), Tensor::empty(DType::i32, {batch, length}), batch * length};
  const auto span = static_cast<std::uint64_t>(static_cast<std::int64_t>(ids.size()) - length - 1);
  for (std::int64_t i = 0; i < batch; ++i) {
    const auto r = philox(seed, index, static_cast<std::uint64_t>(i));
    const auto start = static_cast<std::size_t>(((static_cast<std::uint64_t>(r[0]) << 32) | r[1]) % span);
    std::copy_n(ids.begin() + static_cast<std::ptrdiff_t>(start), length, b.ids.data<std::int32_t>() + i * length);
    std::copy_n(ids.begin() + static_cast<std::ptrdiff_t>(start) + 1, length, b.targets.data<std::int32_t>() + i * length);
  }
  return b;
}

}  // namespace attograd
