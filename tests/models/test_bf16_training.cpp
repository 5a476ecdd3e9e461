// The Transformer in bf16 mixed precision (RunSettings::precision = bf16):
// a training step gives the same bits on every executor and thread count,
// and a small model trains to within a few percent of f32's loss.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "models/loss.hpp"
#include "models/transformer.hpp"
#include "ops/elementwise.hpp"
#include "ops/mask.hpp"
#include "train/optimizer.hpp"

using namespace attograd;

namespace {

// The copy task in miniature: sources of tokens 2..10 (0 pads, 1 starts),
// the decoder reads (1, src[:-1]) and predicts src.
constexpr std::int64_t kBatch = 16, kLen = 8, kVocab = 11;

struct CopyNet {
  ParameterStore store{5};
  Graph g{&store};
  Expr src, tgt_in, tgt_out, loss;

  explicit CopyNet(double dropout) {
    TransformerConfig c;
    c.src_vocab = c.tgt_vocab = kVocab;
    c.layers = 2;
    c.d_model = 32;
    c.heads = 2;
    c.d_ff = 64;
    c.dropout = dropout;
    c.norm = NormPlacement::pre;
    src = input(g, "src", {DType::i32, {kBatch, kLen}});
    tgt_in = input(g, "tgt_in", {DType::i32, {kBatch, kLen}});
    tgt_out = input(g, "tgt_out", {DType::i32, {kBatch, kLen}});
    Expr src_mask = padding_mask(src, 0);
    Expr tgt_mask = padding_mask(tgt_in, 0) * subsequent_mask(g, kLen);
    Expr memory = transformer_encoder(c, src, src_mask);
    loss = label_smoothed_loss(generator(transformer_decoder(c, memory, src_mask, tgt_in, tgt_mask), kVocab), tgt_out,
                               0, 0.0);
  }

  Feeds batch(std::uint64_t index) const {
    std::mt19937_64 rng(1000 + index);
    std::uniform_int_distribution<std::int32_t> token(2, kVocab - 1);
    std::vector<std::int32_t> s(kBatch * kLen), in(s.size());
    for (auto& t : s) t = token(rng);
    for (std::int64_t b = 0; b < kBatch; ++b)
      for (std::int64_t t = 0; t < kLen; ++t) in[std::size_t(b * kLen + t)] = t == 0 ? 1 : s[std::size_t(b * kLen + t - 1)];
    return {{src.id, Tensor::from<std::int32_t>({kBatch, kLen}, s)},
            {tgt_in.id, Tensor::from<std::int32_t>({kBatch, kLen}, in)},
            {tgt_out.id, Tensor::from<std::int32_t>({kBatch, kLen}, s)}};
  }

  // One forward + backward; the loss and every parameter gradient.
  std::vector<Tensor> step(Executor& ex, Precision precision, std::uint64_t index) {
    RunOptions o;
    o.training = true;
    o.seed = 9;
    o.step = index;
    o.precision = precision;
    store.zero_grad();
    ex.forward(g, batch(index), {loss.id}, o);
    ex.backward(loss.id);
    std::vector<Tensor> out{ex.value(loss.id).clone()};
    for (const auto& p : store.all()) out.push_back(p.grad.clone());
    return out;
  }
};

// Losses of `steps` Adam steps (constant rate) from the same start.
std::vector<double> train_losses(Precision precision, int steps) {
  CopyNet net(0.1);
  Executor ex(Backend::tbb, 2);
  auto adam = make_optimizer("adam", {{"beta2", 0.98}, {"eps", 1e-9}});
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    losses.push_back(net.step(ex, precision, std::uint64_t(s))[0].item());
    adam->step(net.store, 3e-3);
  }
  return losses;
}

double mean_of_last(const std::vector<double>& v, std::size_t n) {
  double sum = 0;
  for (std::size_t i = v.size() - n; i < v.size(); ++i) sum += v[i];
  return sum / double(n);
}

}  // namespace

TEST_CASE("a Transformer training step in bf16 gives the same bits on every executor and thread count") {
  auto run = [](Backend backend, int threads, Precision precision) {
    CopyNet net(0.1);
    Executor ex(backend, threads);
    return net.step(ex, precision, 4);
  };
  const auto oracle = run(Backend::sequential, 1, Precision::bf16);
  const auto f32 = run(Backend::sequential, 1, Precision::f32);
  REQUIRE(std::isfinite(oracle[0].item()));
  CHECK_FALSE(oracle[0].bit_equal(f32[0]));  // the products really ran in bf16 ...
  CHECK(std::abs(oracle[0].item() - f32[0].item()) < 1e-2 * f32[0].item());  // ... close to f32
  for (auto [backend, threads] :
       {std::pair{Backend::tbb, 1}, {Backend::tbb, 2}, {Backend::tbb, 4}, {Backend::threads, 3}}) {
    const auto got = run(backend, threads, Precision::bf16);
    REQUIRE(got.size() == oracle.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK_MESSAGE(got[i].bit_equal(oracle[i]), "result " << i);
  }
}

TEST_CASE("a small Transformer trains in bf16 to within 3% of f32's loss over 20 steps") {
  const auto f32 = train_losses(Precision::f32, 20), bf16 = train_losses(Precision::bf16, 20);
  const double end32 = mean_of_last(f32, 5), end16 = mean_of_last(bf16, 5);
  MESSAGE("loss at step 1 / mean of steps 16-20: f32 " << f32[0] << " / " << end32 << ", bf16 " << bf16[0] << " / "
                                                       << end16);
  CHECK(end32 < 0.85 * f32[0]);  // it learnt something in 20 steps
  CHECK(end16 < 0.85 * bf16[0]);
  CHECK(std::abs(end16 - end32) < 0.03 * end32);
}
