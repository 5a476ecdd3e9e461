#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.hpp"
#include "engine/leaves.hpp"
#include "models/attention.hpp"
#include "models/loss.hpp"
#include "models/transformer.hpp"
#include "ops/elementwise.hpp"
#include "ops/mask.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

TransformerConfig tiny(NormPlacement norm = NormPlacement::post) {
  TransformerConfig c;
  c.src_vocab = 7;
  c.tgt_vocab = 6;
  c.layers = 2;
  c.d_model = 8;
  c.heads = 2;
  c.d_ff = 16;
  c.dropout = 0.0;
  c.norm = norm;
  return c;
}

// src ids (2, 4) with one padded position, tgt ids (2, 3) with one pad.
Tensor src_ids() { return Tensor::from<std::int32_t>({2, 4}, {1, 3, 4, 2, 5, 6, 1, 0}); }
Tensor tgt_in_ids() { return Tensor::from<std::int32_t>({2, 3}, {1, 2, 3, 1, 4, 0}); }
Tensor tgt_out_ids() { return Tensor::from<std::int32_t>({2, 3}, {2, 3, 5, 4, 0, 0}); }

struct Net {
  Expr src, tgt_in, tgt_out, logits, loss;
  std::vector<AttentionTap> taps;
};

Net build(Graph& g, const TransformerConfig& c, double smoothing = 0.1) {
  Net n;
  n.src = input(g, "src", {DType::i32, {2, 4}});
  n.tgt_in = input(g, "tgt_in", {DType::i32, {2, 3}});
  n.tgt_out = input(g, "tgt_out", {DType::i32, {2, 3}});
  Expr src_mask = padding_mask(n.src, 0);
  Expr tgt_mask = padding_mask(n.tgt_in, 0) * subsequent_mask(g, 3);
  Expr memory = transformer_encoder(c, n.src, src_mask, &n.taps);
  Expr hidden = transformer_decoder(c, memory, src_mask, n.tgt_in, tgt_mask, &n.taps);
  n.logits = generator(hidden, c.tgt_vocab);
  n.loss = label_smoothed_loss(n.logits, n.tgt_out, 0, smoothing);
  return n;
}

Feeds feeds(const Net& n) {
  return {{n.src.id, src_ids()}, {n.tgt_in.id, tgt_in_ids()}, {n.tgt_out.id, tgt_out_ids()}};
}

}  // namespace

TEST_CASE("the Transformer builders produce the paper's shapes and PyTorch-style parameter names") {
  ParameterStore store(1);
  Graph g(&store);
  const TransformerConfig c = tiny();
  Net n = build(g, c);
  CHECK(n.logits.shape() == Shape{2, 3, 6});
  CHECK(n.loss.shape() == Shape{});
  for (const char* name : {"src_embed.weight", "tgt_embed.weight", "encoder.layers.0.self_attn.q_proj.weight",
                           "encoder.layers.1.feed_forward.linear1.weight", "encoder.layers.0.norm2.bias",
                           "decoder.layers.1.src_attn.out_proj.bias", "decoder.layers.0.norm3.weight",
                           "generator.weight"})
    CHECK_MESSAGE(store.contains(name), name);
  CHECK(store.at("encoder.layers.0.feed_forward.linear1.weight").value.shape() == Shape{16, 8});  // [out, in]
  CHECK(store.at("generator.weight").value.shape() == Shape{6, 8});
  CHECK_FALSE(store.contains("encoder.norm.weight"));  // post-norm: no final norm
  CHECK(n.taps.size() == 6);  // 2 encoder self, 2 decoder self, 2 cross
}

TEST_CASE("pre-norm adds a final layer norm to each stack") {
  ParameterStore store(1);
  Graph g(&store);
  build(g, tiny(NormPlacement::pre));
  CHECK(store.contains("encoder.norm.weight"));
  CHECK(store.contains("decoder.norm.bias"));
}

TEST_CASE("masked positions get zero attention weight and every row sums to one") {
  ParameterStore store(2);
  Graph g(&store);
  Net n = build(g, tiny());
  std::vector<NodeId> targets;
  for (const auto& t : n.taps) targets.push_back(t.weights.id);
  Executor ex(Backend::tbb, 2);
  ex.forward(g, feeds(n), targets);
  for (const auto& tap : n.taps) {
    const Tensor& w = ex.value(tap.weights.id);  // (B, H, T, S)
    const auto& s = w.shape();
    for (std::int64_t b = 0; b < s[0]; ++b)
      for (std::int64_t h = 0; h < s[1]; ++h)
        for (std::int64_t q = 0; q < s[2]; ++q) {
          double row = 0;
          for (std::int64_t k = 0; k < s[3]; ++k) {
            const double v = w.at({b, h, q, k});
            row += v;
            if (tap.kind != "decoder" && b == 1 && k == 3) CHECK(v == 0.0);  // padded source position
            if (tap.kind == "decoder" && k > q) CHECK(v == 0.0);            // the future
            if (tap.kind == "decoder" && b == 1 && k == 2) CHECK(v == 0.0); // padded target position
          }
          CHECK(row == doctest::Approx(1.0).epsilon(1e-5));
        }
  }
}

TEST_CASE("a tiny Transformer's gradients match finite differences (post- and pre-norm)") {
  for (NormPlacement norm : {NormPlacement::post, NormPlacement::pre}) {
    TransformerConfig c = tiny(norm);
    c.layers = 1;
    GradcheckOptions o;
    o.rtol = 1e-4;
    o.atol = 1e-7;
    const auto r = gradcheck(
        [&](Graph& g, const std::vector<Expr>& x) {
          Expr src_mask = padding_mask(x[0], 0);
          Expr tgt_mask = padding_mask(x[1], 0) * subsequent_mask(g, 3);
          Expr memory = transformer_encoder(c, x[0], src_mask);
          Expr logits = generator(transformer_decoder(c, memory, src_mask, x[1], tgt_mask), c.tgt_vocab);
          return label_smoothed_loss(logits, x[2], 0, 0.1);
        },
        {{.shape = {2, 4}, .dtype = DType::i32, .value = src_ids()},
         {.shape = {2, 3}, .dtype = DType::i32, .value = tgt_in_ids()},
         {.shape = {2, 3}, .dtype = DType::i32, .value = tgt_out_ids()}},
        o);
    CHECK_MESSAGE(r.ok, r.report);
    CHECK(r.checked > 500);
  }
}

TEST_CASE("a Transformer training step gives the same bits on every executor and thread count") {
  auto run = [](Backend backend, int threads) {
    ParameterStore store(3);
    Graph g(&store);
    TransformerConfig c = tiny(NormPlacement::pre);
    c.dropout = 0.1;
    c.d_model = 32;
    c.d_ff = 64;
    Net n = build(g, c);
    Executor ex(backend, threads);
    RunOptions o;
    o.training = true;
    o.seed = 9;
    o.step = 4;
    ex.forward(g, feeds(n), {n.loss.id}, o);
    ex.backward(n.loss.id);
    std::vector<Tensor> out{ex.value(n.loss.id).clone()};
    for (const auto& p : store.all()) out.push_back(p.grad.clone());
    return out;
  };
  const auto oracle = run(Backend::sequential, 1);
  CHECK(std::isfinite(oracle[0].item()));
  for (auto [backend, threads] : {std::pair{Backend::tbb, 1}, {Backend::tbb, 2}, {Backend::tbb, 4}, {Backend::threads, 3}}) {
    const auto got = run(backend, threads);
    REQUIRE(got.size() == oracle.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK_MESSAGE(got[i].bit_equal(oracle[i]), "result " << i);
  }
}

TEST_CASE("multi-head attention refuses a width that the heads do not divide") {
  ParameterStore store(1);
  Graph g(&store);
  Expr x = input(g, "x", {DType::f32, {2, 3, 10}});
  Expr mask = constant(g, Tensor::full(DType::f32, {1, 1, 3}, 1.0));
  CHECK_THROWS_WITH_AS(multi_head_attention(x, x, mask, 4, 0.0), doctest::Contains("not divisible by 4 heads"),
                       ShapeError);
}
