#include "cli/seq2seq.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/leaves.hpp"
#include "models/loss.hpp"
#include "ops/elementwise.hpp"
#include "ops/mask.hpp"

namespace attograd {

struct Seq2SeqModel::TrainGraph {
  std::unique_ptr<Graph> graph;
  Expr src, tgt_in, tgt_out, logits, loss;
  std::vector<AttentionTap> taps;
};

// Encoder graph (prefix empty) or one decoder step over a prefix.
struct Seq2SeqModel::DecodeGraph {
  std::unique_ptr<Graph> graph;
  Expr src, memory_in, prefix, output;  // output: memory (N,S,D) or logits (N,t,V)
};

namespace {

Expr target_mask(Expr tgt_in, std::int32_t pad) {
  // (N,1,T) * (1,T,T) -> (N,T,T): no padding, no peeking ahead.
  return padding_mask(tgt_in, pad) * subsequent_mask(*tgt_in.graph, tgt_in.dim(1));
}

Tensor ids_tensor(const std::vector<TokenIds>& rows) {
  const auto n = static_cast<std::int64_t>(rows.size());
  const auto len = static_cast<std::int64_t>(rows.front().size());
  Tensor t = Tensor::empty(DType::i32, {n, len});
  for (std::int64_t i = 0; i < n; ++i) std::copy(rows[i].begin(), rows[i].end(), t.data<std::int32_t>() + i * len);
  return t;
}

}  // namespace

Seq2SeqModel::Seq2SeqModel(const Seq2SeqTask& task, const TransformerConfig& config, std::uint64_t seed, int threads,
                           double label_smoothing)
    : task_(task),
      config_(config),
      label_smoothing_(label_smoothing),
      params_(seed),
      executor_(Backend::tbb, threads),
      train_graphs_([this](const ShapeKey& k) {
        auto tg = std::make_unique<TrainGraph>();
        tg->graph = std::make_unique<Graph>(&params_);
        Graph& g = *tg->graph;
        tg->src = input(g, "src", {DType::i32, {k[0], k[1]}});
        tg->tgt_in = input(g, "tgt_in", {DType::i32, {k[0], k[2]}});
        tg->tgt_out = input(g, "tgt_out", {DType::i32, {k[0], k[2]}});
        Expr src_mask = padding_mask(tg->src, task_.pad());
        Expr memory = transformer_encoder(config_, tg->src, src_mask, &tg->taps);
        Expr hidden = transformer_decoder(config_, memory, src_mask, tg->tgt_in, target_mask(tg->tgt_in, task_.pad()),
                                          &tg->taps);
        tg->logits = generator(hidden, config_.tgt_vocab);
        tg->loss = label_smoothed_loss(tg->logits, tg->tgt_out, task_.pad(), label_smoothing_);
        return tg;
      }),
      decode_graphs_([this](const ShapeKey& k) {
        auto dg = std::make_unique<DecodeGraph>();
        dg->graph = std::make_unique<Graph>(&params_);
        Graph& g = *dg->graph;
        const std::int64_t n = k[0], s = k[1], t = k[2];
        dg->src = input(g, "src", {DType::i32, {n, s}});
        Expr src_mask = padding_mask(dg->src, task_.pad());
        if (t == 0) {
          dg->output = transformer_encoder(config_, dg->src, src_mask);
          return dg;
        }
        dg->memory_in = input(g, "memory", {g.dtype(), {n, s, config_.d_model}});
        dg->prefix = input(g, "prefix", {DType::i32, {n, t}});
        Expr hidden =
            transformer_decoder(config_, dg->memory_in, src_mask, dg->prefix, target_mask(dg->prefix, task_.pad()));
        dg->output = generator(hidden, config_.tgt_vocab);
        return dg;
      }) {
  // Build one small graph so every parameter exists right away (a
  // checkpoint can be loaded into the store before the first step).
  const TokenIds one{task_.bos()};
  train_graph(make_batch({Example{one, TokenIds{task_.bos(), task_.bos()}}}));
}

Seq2SeqModel::~Seq2SeqModel() = default;

Seq2SeqModel::TrainGraph& Seq2SeqModel::train_graph(const Batch& b) {
  return train_graphs_.get({b.size(), b.src.shape()[1], b.tgt_in.shape()[1]});
}

double Seq2SeqModel::train_step(const Batch& batch, const RunOptions& options) {
  TrainGraph& tg = train_graph(batch);
  executor_.forward(*tg.graph, {{tg.src.id, batch.src}, {tg.tgt_in.id, batch.tgt_in}, {tg.tgt_out.id, batch.tgt_out}},
                    {tg.loss.id}, options);
  executor_.backward(tg.loss.id);
  return executor_.value(tg.loss.id).item();
}

EvalResult Seq2SeqModel::evaluate(const std::vector<Batch>& batches) {
  EvalResult r;
  double loss_sum = 0;
  std::int64_t correct = 0;
  RunOptions options;
  options.retain_for_backward = false;
  for (const Batch& b : batches) {
    TrainGraph& tg = train_graph(b);
    executor_.forward(*tg.graph, {{tg.src.id, b.src}, {tg.tgt_in.id, b.tgt_in}, {tg.tgt_out.id, b.tgt_out}},
                      {tg.loss.id, tg.logits.id}, options);
    loss_sum += executor_.value(tg.loss.id).item() * static_cast<double>(b.target_tokens);
    const Tensor& logits = executor_.value(tg.logits.id);  // (B, T, V) f32
    const std::int64_t v = logits.shape()[2];
    const float* l = logits.data<float>();
    const std::int32_t* y = b.tgt_out.data<std::int32_t>();
    for (std::int64_t i = 0; i < b.tgt_out.numel(); ++i) {
      if (y[i] == task_.pad()) continue;
      const float* row = l + i * v;
      correct += (std::max_element(row, row + v) - row) == y[i];
    }
    r.tokens += b.target_tokens;
  }
  r.loss = r.tokens ? loss_sum / static_cast<double>(r.tokens) : 0.0;
  r.accuracy = r.tokens ? static_cast<double>(correct) / static_cast<double>(r.tokens) : 0.0;
  return r;
}

Tensor Seq2SeqModel::encode(const Tensor& src) {
  RunOptions options;
  options.retain_for_backward = false;
  DecodeGraph& enc = decode_graphs_.get({src.shape()[0], src.shape()[1], 0});
  executor_.forward(*enc.graph, {{enc.src.id, src}}, {enc.output.id}, options);
  return executor_.value(enc.output.id);
}

const Tensor& Seq2SeqModel::decoder_logits(const Tensor& src, const Tensor& memory, const Tensor& prefixes) {
  RunOptions options;
  options.retain_for_backward = false;
  DecodeGraph& dec = decode_graphs_.get({prefixes.shape()[0], src.shape()[1], prefixes.shape()[1]});
  executor_.forward(*dec.graph, {{dec.src.id, src}, {dec.memory_in.id, memory}, {dec.prefix.id, prefixes}},
                    {dec.output.id}, options);
  return executor_.value(dec.output.id);
}

std::vector<std::vector<float>> Seq2SeqModel::next_log_probs(const Tensor& src, const Tensor& memory,
                                                             const Tensor& prefixes) {
  const std::int64_t n = prefixes.shape()[0], s = src.shape()[1], t = prefixes.shape()[1];
  // The one encoded source (1, S, D) serves every prefix: repeat it N times.
  Tensor src_n = Tensor::empty(DType::i32, {n, s});
  Tensor memory_n = Tensor::empty(memory.dtype(), {n, s, memory.shape()[2]});
  for (std::int64_t i = 0; i < n; ++i) {
    std::copy_n(src.data<std::int32_t>(), s, src_n.data<std::int32_t>() + i * s);
    std::copy_n(static_cast<const std::byte*>(memory.raw()), memory.nbytes(),
                static_cast<std::byte*>(memory_n.raw()) + static_cast<std::size_t>(i) * memory.nbytes());
  }
  const Tensor& logits = decoder_logits(src_n, memory_n, prefixes);  // (N, t, V)
  const std::int64_t v = logits.shape()[2];
  std::vector<std::vector<float>> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = logits.data<float>() + (i * t + t - 1) * v;
    const float m = *std::max_element(row, row + v);
    double z = 0;
    for (std::int64_t k = 0; k < v; ++k) z += std::exp(static_cast<double>(row[k] - m));
    const float log_z = static_cast<float>(std::log(z)) + m;
    out[static_cast<std::size_t>(i)].resize(static_cast<std::size_t>(v));
    for (std::int64_t k = 0; k < v; ++k) out[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)] = row[k] - log_z;
  }
  return out;
}

TokenIds Seq2SeqModel::decode(const TokenIds& src, const DecodeOptions& options) {
  if (src.empty()) throw Error("[decode] empty source sequence");
  const std::int64_t max_length = options.max_length > 0 ? options.max_length : task_.max_target_length(src);
  if (options.beam < 1) throw Error(fmt::format("[decode] beam size must be >= 1, got {}", options.beam));
  return options.beam == 1 ? greedy(src, max_length) : beam_search(src, options, max_length);
}

TokenIds Seq2SeqModel::greedy(const TokenIds& src, std::int64_t max_length) {
  const Tensor src_t = ids_tensor({src});
  const Tensor memory = encode(src_t);
  TokenIds ys{task_.bos()};
  for (std::int64_t step = 0; step < max_length; ++step) {
    const auto lp = next_log_probs(src_t, memory, ids_tensor({ys}))[0];
    const auto next = static_cast<std::int32_t>(std::max_element(lp.begin(), lp.end()) - lp.begin());
    ys.push_back(next);
    if (next == task_.eos()) break;
  }
  return ys;
}

std::vector<TokenIds> Seq2SeqModel::decode_batch(const std::vector<TokenIds>& srcs) {
  if (srcs.empty()) return {};
  std::vector<TokenIds> ys(srcs.size(), TokenIds{task_.bos()});
  std::vector<std::int64_t> limit;
  std::vector<bool> done(srcs.size(), false);
  for (const TokenIds& s : srcs) {
    if (s.empty()) throw Error("[decode] empty source sequence");
    limit.push_back(task_.max_target_length(s));
  }
  std::vector<Example> padded;
  for (const TokenIds& s : srcs) padded.push_back({s, {task_.bos(), task_.bos()}});
  const Tensor src_t = make_batch(padded).src;  // (N, S), padded with 0
  const Tensor memory = encode(src_t);
  // Finished rows keep growing with padding (masked out) so the prefixes stay one rectangle.
  std::vector<TokenIds> prefixes = ys;
  for (std::int64_t step = 0; step < *std::max_element(limit.begin(), limit.end()); ++step) {
    const Tensor& logits = decoder_logits(src_t, memory, ids_tensor(prefixes));  // (N, t, V)
    const std::int64_t t = logits.shape()[1], v = logits.shape()[2];
    for (std::size_t i = 0; i < srcs.size(); ++i) {
      const float* row = logits.data<float>() + (static_cast<std::int64_t>(i) * t + t - 1) * v;
      const auto next = static_cast<std::int32_t>(std::max_element(row, row + v) - row);
      prefixes[i].push_back(done[i] ? task_.pad() : next);
      if (done[i]) continue;
      ys[i].push_back(next);
      done[i] = next == task_.eos() || static_cast<std::int64_t>(ys[i].size()) - 1 >= limit[i];
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
  }
  return ys;
}

double Seq2SeqModel::exact_match(const std::vector<Example>& examples, std::size_t chunk) {
  if (examples.empty()) return 0.0;
  std::size_t exact = 0;
  for (std::size_t i = 0; i < examples.size(); i += chunk) {
    std::vector<TokenIds> srcs;
    for (std::size_t k = i; k < std::min(examples.size(), i + chunk); ++k) srcs.push_back(examples[k].src);
    const std::vector<TokenIds> out = decode_batch(srcs);
    for (std::size_t k = 0; k < out.size(); ++k) exact += out[k] == examples[i + k].tgt;
  }
  return static_cast<double>(exact) / static_cast<double>(examples.size());
}

TokenIds Seq2SeqModel::beam_search(const TokenIds& src, const DecodeOptions& o, std::int64_t max_length) {
  struct Hyp {
    TokenIds ids;
    double log_prob;
    bool done;
  };
  auto score = [&](const Hyp& h) {
    const double len = static_cast<double>(h.ids.size() - 1);
    return h.log_prob / std::pow((5.0 + len) / 6.0, o.length_penalty);
  };
  const Tensor src_t = ids_tensor({src});
  const Tensor memory = encode(src_t);
  std::vector<Hyp> beams{{{task_.bos()}, 0.0, false}};
  for (std::int64_t step = 0; step < max_length; ++step) {
    std::vector<TokenIds> live;
    for (const Hyp& h : beams)
      if (!h.done) live.push_back(h.ids);
    if (live.empty()) break;
    const auto lp = next_log_probs(src_t, memory, ids_tensor(live));
    std::vector<Hyp> candidates;
    std::size_t li = 0;
    for (const Hyp& h : beams) {
      if (h.done) {
        candidates.push_back(h);
        continue;
      }
      const auto& row = lp[li++];
      for (std::size_t k = 0; k < row.size(); ++k) {
        if (static_cast<std::int32_t>(k) == task_.pad()) continue;
        Hyp c{h.ids, h.log_prob + row[k], static_cast<std::int32_t>(k) == task_.eos()};
        c.ids.push_back(static_cast<std::int32_t>(k));
        candidates.push_back(std::move(c));
      }
    }
    std::stable_sort(candidates.begin(), candidates.end(), [&](const Hyp& a, const Hyp& b) { return score(a) > score(b); });
    candidates.resize(std::min<std::size_t>(candidates.size(), static_cast<std::size_t>(o.beam)));
    beams = std::move(candidates);
  }
  return std::max_element(beams.begin(), beams.end(), [&](const Hyp& a, const Hyp& b) { return score(a) < score(b); })
      ->ids;
}

std::vector<Seq2SeqModel::AttentionMaps> Seq2SeqModel::attention(const TokenIds& src, const TokenIds& tgt) {
  if (tgt.size() < 2) throw Error("[attention] the target needs at least one token after the start token");
  Batch b = make_batch({Example{src, tgt}});
  TrainGraph& tg = train_graph(b);
  std::vector<NodeId> targets;
  for (const AttentionTap& t : tg.taps) targets.push_back(t.weights.id);
  RunOptions options;
  options.retain_for_backward = false;
  executor_.forward(*tg.graph, {{tg.src.id, b.src}, {tg.tgt_in.id, b.tgt_in}, {tg.tgt_out.id, b.tgt_out}}, targets,
                    options);
  std::vector<AttentionMaps> maps;
  for (const AttentionTap& t : tg.taps) {
    const Tensor& w = executor_.value(t.weights.id);  // (1, H, T, S)
    maps.push_back({t.kind, t.layer, w.reshaped({w.shape()[1], w.shape()[2], w.shape()[3]})});
  }
  return maps;
}

}  // namespace attograd
