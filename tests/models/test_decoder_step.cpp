// The incremental decoder (transformer_decoder_step) against the full
// decoder it replaces when decoding: same logits at every position, for both
// residual placements, with the keys and values fed back between steps.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "models/transformer.hpp"
#include "ops/elementwise.hpp"
#include "ops/mask.hpp"

using namespace attograd;

namespace {

TransformerConfig small(NormPlacement norm) {
  TransformerConfig c;
  c.src_vocab = 9;
  c.tgt_vocab = 7;
  c.layers = 2;
  c.d_model = 16;
  c.heads = 4;
  c.d_ff = 32;
  c.dropout = 0.1;  // inference: off in both paths
  c.norm = norm;
  return c;
}

constexpr std::int64_t kBatch = 2, kSrc = 5, kTgt = 6;

// src (2, 5) with a padded position in row 1; targets (2, 6) without padding.
Tensor src_ids() { return Tensor::from<std::int32_t>({kBatch, kSrc}, {1, 3, 4, 2, 8, 6, 1, 5, 7, 0}); }
Tensor tgt_ids() { return Tensor::from<std::int32_t>({kBatch, kTgt}, {1, 2, 3, 6, 5, 4, 1, 4, 4, 2, 6, 3}); }

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector(), y = b.to_vector();
  REQUIRE(x.size() == y.size());
  double m = 0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// Rows t of (B, T, V) as (B, 1, V).
Tensor position(const Tensor& logits, std::int64_t t) {
  const std::int64_t v = logits.shape()[2];
  Tensor out = Tensor::empty(logits.dtype(), {kBatch, 1, v});
  for (std::int64_t b = 0; b < kBatch; ++b)
    for (std::int64_t k = 0; k < v; ++k) out.data<float>()[b * v + k] = logits.data<float>()[(b * kTgt + t) * v + k];
  return out;
}

void check_steps_equal_full_decoder(NormPlacement norm) {
  const TransformerConfig c = small(norm);
  ParameterStore store(5);
  Executor ex(Backend::tbb, 2);
  RunOptions inference;
  inference.retain_for_backward = false;

  // The oracle: every position at once, causal mask.
  Graph full(&store);
  Expr src = input(full, "src", {DType::i32, {kBatch, kSrc}});
  Expr tgt = input(full, "tgt", {DType::i32, {kBatch, kTgt}});
  Expr memory = transformer_encoder(c, src, padding_mask(src, 0));
  Expr logits = generator(transformer_decoder(c, memory, padding_mask(src, 0), tgt, subsequent_mask(full, kTgt)),
                          c.tgt_vocab);
  ex.forward(full, {{src.id, src_ids()}, {tgt.id, tgt_ids()}}, {memory.id, logits.id}, inference);
  const Tensor memory_value = ex.value(memory.id), full_logits = ex.value(logits.id);

  // The memory's cross-attention keys and values, once.
  Graph cross_graph(&store);
  Expr memory_in = input(cross_graph, "memory", {DType::f32, {kBatch, kSrc, c.d_model}});
  const std::vector<KeysValues> cross_out = decoder_cross_keys_values(c, memory_in);
  std::vector<NodeId> cross_ids;
  for (const KeysValues& kv : cross_out) cross_ids.insert(cross_ids.end(), {kv.k_t.id, kv.v.id});
  ex.forward(cross_graph, {{memory_in.id, memory_value}}, cross_ids, inference);
  std::vector<Tensor> cross_values, cache;
  for (NodeId id : cross_ids) cross_values.push_back(ex.value(id));

  const std::int64_t h = c.heads, k = c.d_model / c.heads;
  for (std::int64_t t = 0; t < kTgt; ++t) {
    Graph g(&store);
    Feeds feeds;
    Expr step_src = input(g, "src", {DType::i32, {kBatch, kSrc}});
    Expr token = input(g, "token", {DType::i32, {kBatch, 1}});
    feeds[step_src.id] = src_ids();
    Tensor tokens = Tensor::empty(DType::i32, {kBatch, 1});
    for (std::int64_t b = 0; b < kBatch; ++b) tokens.data<std::int32_t>()[b] = tgt_ids().data<std::int32_t>()[b * kTgt + t];
    feeds[token.id] = tokens;
    std::vector<KeysValues> cross, self;
    for (std::size_t i = 0; i < cross_values.size(); i += 2) {
      cross.push_back({input(g, "cross_k", {DType::f32, cross_values[i].shape()}),
                       input(g, "cross_v", {DType::f32, cross_values[i + 1].shape()})});
      feeds[cross.back().k_t.id] = cross_values[i];
      feeds[cross.back().v.id] = cross_values[i + 1];
      if (t == 0) continue;
      self.push_back({input(g, "self_k", {DType::f32, {kBatch, h, k, t}}), input(g, "self_v", {DType::f32, {kBatch, h, t, k}})});
      feeds[self.back().k_t.id] = cache[i];
      feeds[self.back().v.id] = cache[i + 1];
    }
    const DecoderStep step = transformer_decoder_step(c, token, t, self, cross, padding_mask(step_src, 0));
    CHECK(step.logits.shape() == Shape{kBatch, 1, c.tgt_vocab});
    std::vector<NodeId> targets{step.logits.id};
    for (const KeysValues& kv : step.self) {
      CHECK(kv.k_t.shape() == Shape{kBatch, h, k, t + 1});
      CHECK(kv.v.shape() == Shape{kBatch, h, t + 1, k});
      targets.insert(targets.end(), {kv.k_t.id, kv.v.id});
    }
    ex.forward(g, feeds, targets, inference);
    CAPTURE(t);
    CHECK(max_abs_difference(ex.value(step.logits.id), position(full_logits, t)) < 1e-5);
    cache.clear();
    for (std::size_t i = 1; i < targets.size(); ++i) cache.push_back(ex.value(targets[i]));
  }
}

}  // namespace

TEST_CASE("the incremental decoder's logits at every position equal the full decoder's (post-norm)") {
  check_steps_equal_full_decoder(NormPlacement::post);
}

TEST_CASE("the incremental decoder's logits at every position equal the full decoder's (pre-norm)") {
  check_steps_equal_full_decoder(NormPlacement::pre);
}

TEST_CASE("positional encoding from position t is row t of the encoding from position 0") {
  Graph g;
  Expr whole = positional_encoding(g, 9, 12);
  Expr from_7 = positional_encoding(g, 2, 12, 7);
  Executor ex(Backend::sequential);
  ex.forward(g, {}, {whole.id, from_7.id});
  const Tensor& a = ex.value(whole.id);
  const Tensor& b = ex.value(from_7.id);
  for (std::int64_t t = 0; t < 2; ++t)
    for (std::int64_t i = 0; i < 12; ++i) CHECK(b.at({0, t, i}) == a.at({0, 7 + t, i}));
  CHECK(b.at({0, 0, 0}) == doctest::Approx(std::sin(7.0)));
}

TEST_CASE("a decoder step refuses caches that do not match its position") {
  const TransformerConfig c = small(NormPlacement::pre);
  ParameterStore store(1);
  Graph g(&store);
  Expr token = input(g, "token", {DType::i32, {2, 1}});
  Expr memory = input(g, "memory", {DType::f32, {2, 3, c.d_model}});
  Expr src = input(g, "src", {DType::i32, {2, 3}});
  const auto cross = decoder_cross_keys_values(c, memory);
  CHECK_THROWS_WITH_AS(transformer_decoder_step(c, token, 2, {}, cross, padding_mask(src, 0)),
                       doctest::Contains("[transformer_decoder_step] position 2"), ShapeError);
}
