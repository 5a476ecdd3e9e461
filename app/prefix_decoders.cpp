// The two ways to get the next-token distribution of every hypothesis:
//   FullPrefixDecoder  reruns the decoder over the whole prefix (N, t) at
//                      every step: the oracle, simple and obviously right;
//   CachedDecoder      runs transformer_decoder_step on the new token only,
//                      feeding back each layer's self-attention keys and
//                      values, with the memory's cross-attention keys and
//                      values computed once.
// Rows are reordered on the host (beam search keeps, repeats and drops them).
#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "app/seq2seq_graphs.hpp"
#include "engine/error.hpp"
#include "engine/leaves.hpp"
#include "ops/concat.hpp"
#include "ops/mask.hpp"

namespace attograd {
namespace {

// Rows `rows` of x (N, ...) -> (rows.size(), ...).
Tensor gather_rows(const Tensor& x, const std::vector<std::size_t>& rows) {
  const auto n = static_cast<std::size_t>(x.shape()[0]);
  bool same = rows.size() == n;
  for (std::size_t i = 0; same && i < n; ++i) same = rows[i] == i;
  if (same) return x;
  Shape shape = x.shape();
  shape[0] = static_cast<std::int64_t>(rows.size());
  Tensor out = Tensor::empty(x.dtype(), shape);
  const std::size_t row_bytes = n ? x.nbytes() / n : 0;
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::memcpy(static_cast<std::byte*>(out.raw()) + i * row_bytes,
                static_cast<const std::byte*>(x.raw()) + rows[i] * row_bytes, row_bytes);
  return out;
}

// Log-softmax (in double, rounded to float) of position `t` of every row of logits (N, T, V).
std::vector<std::vector<float>> log_probs_at(const Tensor& logits, std::int64_t t) {
  const std::int64_t n = logits.shape()[0], len = logits.shape()[1], v = logits.shape()[2];
  std::vector<std::vector<float>> out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = logits.data<float>() + (i * len + t) * v;
    const float m = *std::max_element(row, row + v);
    double z = 0;
    for (std::int64_t k = 0; k < v; ++k) z += std::exp(static_cast<double>(row[k] - m));
    const float log_z = static_cast<float>(std::log(z)) + m;
    auto& lp = out[static_cast<std::size_t>(i)];
    lp.resize(static_cast<std::size_t>(v));
    for (std::int64_t k = 0; k < v; ++k) lp[static_cast<std::size_t>(k)] = row[k] - log_z;
  }
  return out;
}

Tensor column(const TokenIds& tokens) {  // (N, 1)
  Tensor t = Tensor::empty(DType::i32, {static_cast<std::int64_t>(tokens.size()), 1});
  std::copy(tokens.begin(), tokens.end(), t.data<std::int32_t>());
  return t;
}

Tensor ids_tensor(const std::vector<TokenIds>& rows) {  // (N, t), rows of equal length
  const auto n = static_cast<std::int64_t>(rows.size());
  const auto len = static_cast<std::int64_t>(rows.front().size());
  Tensor t = Tensor::empty(DType::i32, {n, len});
  for (std::int64_t i = 0; i < n; ++i) std::copy(rows[i].begin(), rows[i].end(), t.data<std::int32_t>() + i * len);
  return t;
}

void check_tokens(const TokenIds& tokens, std::size_t rows) {
  if (tokens.size() != rows)
    throw Error(fmt::format("[decode] {} tokens for {} hypotheses: one token per row", tokens.size(), rows));
}

}  // namespace

class Seq2SeqModel::FullPrefixDecoder final : public PrefixDecoder {
 public:
  FullPrefixDecoder(Seq2SeqModel& m, Tensor src) : m_(m), src_(std::move(src)), memory_(m.encode(src_)) {
    prefixes_.resize(static_cast<std::size_t>(src_.shape()[0]));
  }
  std::vector<std::vector<float>> advance(const TokenIds& tokens) override {
    check_tokens(tokens, prefixes_.size());
    for (std::size_t i = 0; i < tokens.size(); ++i) prefixes_[i].push_back(tokens[i]);
    const Tensor& logits = m_.decoder_logits(src_, memory_, ids_tensor(prefixes_));  // (N, t, V)
    return log_probs_at(logits, logits.shape()[1] - 1);
  }
  void select(const std::vector<std::size_t>& rows) override {
    std::vector<TokenIds> kept;
    for (std::size_t r : rows) kept.push_back(prefixes_.at(r));
    prefixes_ = std::move(kept);
    src_ = gather_rows(src_, rows);
    memory_ = gather_rows(memory_, rows);
  }

 private:
  Seq2SeqModel& m_;
  Tensor src_, memory_;               // (N,S), (N,S,D)
  std::vector<TokenIds> prefixes_;    // N rows of t tokens
};

class Seq2SeqModel::CachedDecoder final : public PrefixDecoder {
 public:
  CachedDecoder(Seq2SeqModel& m, Tensor src) : m_(m), src_(std::move(src)) {
    const Tensor memory = m_.encode(src_);
    CrossGraph& cg = m_.cross_graphs_.get({src_.shape()[0], src_.shape()[1]});
    std::vector<NodeId> targets;
    for (const KeysValues& kv : cg.cross) targets.insert(targets.end(), {kv.k_t.id, kv.v.id});
    m_.executor_.forward(*cg.graph, {{cg.memory.id, memory}}, targets, m_.inference_options());
    for (NodeId id : targets) cross_.push_back(m_.executor_.value(id));
  }
  std::vector<std::vector<float>> advance(const TokenIds& tokens) override {
    check_tokens(tokens, static_cast<std::size_t>(src_.shape()[0]));
    StepGraph& sg = m_.step_graphs_.get({src_.shape()[0], src_.shape()[1], t_});
    Feeds feeds{{sg.src.id, src_}, {sg.token.id, column(tokens)}};
    for (std::size_t i = 0; i < sg.cross.size(); ++i) {
      feeds[sg.cross[i].k_t.id] = cross_[2 * i];
      feeds[sg.cross[i].v.id] = cross_[2 * i + 1];
    }
    for (std::size_t i = 0; i < sg.self.size(); ++i) {
      feeds[sg.self[i].k_t.id] = self_[2 * i];
      feeds[sg.self[i].v.id] = self_[2 * i + 1];
    }
    if (t_ > 0) feeds[sg.keep.id] = keep_;
    std::vector<NodeId> targets{sg.step.logits.id, sg.keep_out.id};
    for (const KeysValues& kv : sg.step.self) targets.insert(targets.end(), {kv.k_t.id, kv.v.id});
    m_.executor_.forward(*sg.graph, feeds, targets, m_.inference_options());
    keep_ = m_.executor_.value(sg.keep_out.id);
    self_.clear();
    for (std::size_t i = 2; i < targets.size(); ++i) self_.push_back(m_.executor_.value(targets[i]));
    ++t_;
    return log_probs_at(m_.executor_.value(sg.step.logits.id), 0);
  }
  void select(const std::vector<std::size_t>& rows) override {
    src_ = gather_rows(src_, rows);
    for (Tensor& t : cross_) t = gather_rows(t, rows);
    for (Tensor& t : self_) t = gather_rows(t, rows);
    if (t_ > 0) keep_ = gather_rows(keep_, rows);
  }

 private:
  Seq2SeqModel& m_;
  Tensor src_;                 // (N,S)
  std::vector<Tensor> cross_;  // per layer k_t (N,H,K,S), v (N,H,S,K)
  std::vector<Tensor> self_;   // per layer k_t (N,H,K,t), v (N,H,t,K); empty before the first step
  Tensor keep_;                // (N,1,t): 1 for positions that are not padding
  std::int64_t t_ = 0;         // positions decoded
};

std::unique_ptr<PrefixDecoder> Seq2SeqModel::start_decoding(const std::vector<TokenIds>& srcs, bool cache) {
  if (srcs.empty()) throw Error("[decode] no source sequence");
  std::vector<Example> padded;
  for (const TokenIds& s : srcs) {
    if (s.empty()) throw Error("[decode] empty source sequence");
    padded.push_back({s, {task_.bos(), task_.bos()}});
  }
  Tensor src = make_batch(padded).src;  // (N, S), padded with 0
  if (cache) return std::make_unique<CachedDecoder>(*this, std::move(src));
  return std::make_unique<FullPrefixDecoder>(*this, std::move(src));
}

std::unique_ptr<Seq2SeqModel::CrossGraph> Seq2SeqModel::build_cross_graph(const ShapeKey& k) {
  auto cg = std::make_unique<CrossGraph>();
  cg->graph = std::make_unique<Graph>(&params_);
  cg->memory = input(*cg->graph, "memory", {cg->graph->dtype(), {k[0], k[1], config_.d_model}});
  cg->cross = decoder_cross_keys_values(config_, cg->memory);
  return cg;
}

std::unique_ptr<Seq2SeqModel::StepGraph> Seq2SeqModel::build_step_graph(const ShapeKey& key) {
  const std::int64_t n = key[0], s = key[1], t = key[2], h = config_.heads, k = config_.d_model / config_.heads;
  auto sg = std::make_unique<StepGraph>();
  sg->graph = std::make_unique<Graph>(&params_);
  Graph& g = *sg->graph;
  const DType f = g.dtype();
  sg->src = input(g, "src", {DType::i32, {n, s}});
  sg->token = input(g, "token", {DType::i32, {n, 1}});
  for (std::int64_t i = 0; i < config_.layers; ++i) {
    sg->cross.push_back({input(g, "cross_k_t", {f, {n, h, k, s}}), input(g, "cross_v", {f, {n, h, s, k}})});
    if (t > 0) sg->self.push_back({input(g, "self_k_t", {f, {n, h, k, t}}), input(g, "self_v", {f, {n, h, t, k}})});
  }
  // Padding in the prefix (finished rows of a batch) is masked as the full decoder masks it.
  sg->keep_out = padding_mask(sg->token, task_.pad());  // (N,1,1)
  if (t > 0) {
    sg->keep = input(g, "keep", {f, {n, 1, t}});
    sg->keep_out = concat({sg->keep, sg->keep_out}, 2);
  }
  sg->step = transformer_decoder_step(config_, sg->token, t, sg->self, sg->cross, padding_mask(sg->src, task_.pad()),
                                      sg->keep_out);
  return sg;
}

}  // namespace attograd
