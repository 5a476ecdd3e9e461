#include "app/seq2seq.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "app/seq2seq_graphs.hpp"
#include "engine/error.hpp"
#include "engine/leaves.hpp"
#include "models/loss.hpp"
#include "ops/elementwise.hpp"
#include "ops/mask.hpp"

namespace attograd {

namespace {

Expr target_mask(Expr tgt_in, std::int32_t pad) {
  // (N,1,T) * (1,T,T) -> (N,T,T): no padding, no peeking ahead.
  return padding_mask(tgt_in, pad) * subsequent_mask(*tgt_in.graph, tgt_in.dim(1));
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
      }, kCachedDecoderGraphs),
      cross_graphs_([this](const ShapeKey& k) { return build_cross_graph(k); }, kCachedDecoderGraphs),
      step_graphs_([this](const ShapeKey& k) { return build_step_graph(k); }, kCachedDecoderGraphs) {
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
  const RunOptions options = inference_options();
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
  const RunOptions options = inference_options();
  DecodeGraph& enc = decode_graphs_.get({src.shape()[0], src.shape()[1], 0});
  executor_.forward(*enc.graph, {{enc.src.id, src}}, {enc.output.id}, options);
  return executor_.value(enc.output.id);
}

const Tensor& Seq2SeqModel::decoder_logits(const Tensor& src, const Tensor& memory, const Tensor& prefixes) {
  const RunOptions options = inference_options();
  DecodeGraph& dec = decode_graphs_.get({prefixes.shape()[0], src.shape()[1], prefixes.shape()[1]});
  executor_.forward(*dec.graph, {{dec.src.id, src}, {dec.memory_in.id, memory}, {dec.prefix.id, prefixes}},
                    {dec.output.id}, options);
  return executor_.value(dec.output.id);
}

std::vector<Seq2SeqModel::AttentionMaps> Seq2SeqModel::attention(const TokenIds& src, const TokenIds& tgt) {
  if (tgt.size() < 2) throw Error("[attention] the target needs at least one token after the start token");
  Batch b = make_batch({Example{src, tgt}});
  TrainGraph& tg = train_graph(b);
  std::vector<NodeId> targets;
  for (const AttentionTap& t : tg.taps) targets.push_back(t.weights.id);
  const RunOptions options = inference_options();
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
