#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/error.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "engine/registry.hpp"
#include "engine/rng.hpp"
#include "ops/builtin.hpp"
#include "ops/dropout.hpp"
#include "ops/elementwise.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

struct DropoutRun {
  Tensor out;
  Tensor grad;  // dL/dx for the seed gradient, if one was given
  std::string label;
};

DropoutRun run_dropout(const Tensor& x, double p, RunOptions run, const Tensor& seed_grad = {}) {
  Graph g;
  Expr in = input(g, "x", {x.dtype(), x.shape()}, true);
  Expr y = dropout(in, p);
  Executor ex(Backend::sequential);
  ex.forward(g, {{in.id, x}}, {y.id}, run);
  DropoutRun r{ex.value(y.id), {}, y.node().label};
  if (seed_grad.defined()) {
    ex.backward(y.id, seed_grad);
    r.grad = ex.grad(in.id);
  }
  return r;
}

RunOptions training(std::uint64_t seed, std::uint64_t step) {
  RunOptions r;
  r.training = true;
  r.seed = seed;
  r.step = step;
  return r;
}

double kept_fraction(const Tensor& t) {
  std::int64_t kept = 0;
  for (float v : t.span<float>()) kept += v != 0;
  return static_cast<double>(kept) / static_cast<double>(t.numel());
}

Tensor random(Shape s, std::uint64_t key) {
  Tensor t = Tensor::empty(DType::f32, std::move(s));
  initialize(t, Init::uniform(-1, 1), key);
  return t;
}

}  // namespace

TEST_CASE("dropout is the identity, without a copy, for p = 0 and in eval mode") {
  const Tensor x = random({3, 5}, 1);
  const Tensor g = random({3, 5}, 2);
  for (auto [p, run] : {std::pair{0.0, training(3, 1)}, std::pair{0.5, RunOptions{}}}) {
    const DropoutRun r = run_dropout(x, p, run, g);
    CHECK(r.out.raw() == x.raw());
    CHECK(r.grad.bit_equal(g));
  }
}

TEST_CASE("dropout keeps a fraction 1 - p of the elements and scales them by 1 / (1 - p)") {
  const Tensor ones = Tensor::full(DType::f32, {200000}, 1.0);
  for (double p : {0.1, 0.5, 0.99}) {
    INFO("p = " << p);
    const Tensor out = run_dropout(ones, p, training(3, 7)).out;
    // Binomial: 5 standard deviations of the kept fraction.
    CHECK(std::abs(kept_fraction(out) - (1 - p)) < 5 * std::sqrt(p * (1 - p) / 200000.0));
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    CHECK(std::all_of(out.span<float>().begin(), out.span<float>().end(),
                      [scale](float v) { return v == 0.0f || v == scale; }));
  }
}

TEST_CASE("dropout's mask is Philox keyed by (seed, node label) and counted by (step, element / 4)") {
  const double p = 0.3;
  const Tensor ones = Tensor::full(DType::f32, {4099}, 1.0);  // a tail of 3 past the last full word group
  const DropoutRun r = run_dropout(ones, p, training(11, 4));
  CHECK(r.label == "dropout");
  const std::uint64_t key = mix_keys(11, hash_name(r.label));
  const auto threshold = static_cast<std::uint32_t>(std::ldexp(p, 32));
  const float* out = r.out.data<float>();
  std::int64_t mismatches = 0;
  for (std::int64_t i = 0; i < ones.numel(); ++i) {
    const bool kept = philox(key, 4, static_cast<std::uint64_t>(i / 4))[i % 4] >= threshold;
    mismatches += kept != (out[i] != 0);
  }
  CHECK(mismatches == 0);
}

TEST_CASE("dropout masks change with the step and the seed and repeat for the same (seed, step)") {
  const Tensor x = random({1000}, 5);
  const Tensor a = run_dropout(x, 0.5, training(3, 1)).out;
  CHECK(a.bit_equal(run_dropout(x, 0.5, training(3, 1)).out));
  CHECK_FALSE(a.bit_equal(run_dropout(x, 0.5, training(3, 2)).out));
  CHECK_FALSE(a.bit_equal(run_dropout(x, 0.5, training(4, 1)).out));
}

TEST_CASE("two dropout nodes in one graph draw different masks") {
  check_backends_agree([](Graph&, const std::vector<Expr>& x) { return dropout(x[0], 0.5) - dropout(x[0], 0.5); },
                       {{.shape = {2000}}}, true);
  const Tensor out = run_forward([](Graph&, const std::vector<Expr>& x) { return dropout(x[0], 0.5) - dropout(x[0], 0.5); },
                                 {{.shape = {2000}, .low = 1, .high = 2}}, DType::f32, true);
  CHECK(kept_fraction(out) > 0.4);
}

namespace {

// A two-layer model with dropout between the layers, optionally with an
// unrelated node built first (it shifts every later node id); returns the
// dropout's output on a fixed batch and the losses of 5 SGD steps.
struct DropoutModelRun {
  Tensor mask_output;
  std::vector<double> losses;
};

DropoutModelRun train_dropout_model(bool extra_node_first) {
  ParameterStore params(/*seed=*/3);
  Graph g(&params);
  Expr x = input(g, "x", {DType::f32, {16, 8}});
  if (extra_node_first) {
    auto s = g.scope("unrelated");
    static_cast<void>(relu(x) * x);  // two nodes no output depends on
  }
  Expr hidden, loss;
  {
    auto s = g.scope("mlp");
    Expr w1 = parameter(g, "w1", {8, 8}, Init::xavier_uniform());
    hidden = dropout(relu(matmul(x, w1)), 0.5);
    Expr w2 = parameter(g, "w2", {8, 1}, Init::xavier_uniform());
    loss = mean(matmul(hidden, w2) * matmul(hidden, w2));
  }
  Executor ex(Backend::sequential);
  DropoutModelRun r;
  for (std::uint64_t step = 0; step < 5; ++step) {
    params.zero_grad();
    ex.forward(g, {{x.id, random({16, 8}, 40 + step)}}, {loss.id, hidden.id}, training(9, step));
    if (step == 0) r.mask_output = ex.value(hidden.id).clone();
    r.losses.push_back(ex.value(loss.id).item());
    ex.backward(loss.id);
    for (const char* name : {"mlp.w1", "mlp.w2"}) {
      Parameter& w = params.at(name);
      for (std::int64_t k = 0; k < w.value.numel(); ++k) w.value.data<float>()[k] -= 0.1f * w.grad.data<float>()[k];
    }
  }
  return r;
}

}  // namespace

TEST_CASE("adding an unrelated node to a model moves no dropout mask and no loss") {
  const DropoutModelRun plain = train_dropout_model(false), shifted = train_dropout_model(true);
  CHECK(plain.mask_output.bit_equal(shifted.mask_output));
  CHECK(kept_fraction(plain.mask_output) < 0.75);  // dropout did drop: the check above compares masks
  CHECK(plain.losses == shifted.losses);
}

TEST_CASE("dropout nodes with different labels draw different masks") {
  const Tensor x = random({1000}, 5);
  const auto masked = [&](const char* scope) {
    Graph g;
    Expr in = input(g, "x", {DType::f32, {1000}});
    auto s = g.scope(scope);
    Expr y = dropout(in, 0.5);
    Executor ex(Backend::sequential);
    ex.forward(g, {{in.id, x}}, {y.id}, training(3, 1));
    return ex.value(y.id);
  };
  CHECK(masked("a").bit_equal(masked("a")));
  CHECK_FALSE(masked("a").bit_equal(masked("b")));
}

TEST_CASE("dropout's gradient is the forward mask, kept as bits, times the scale") {
  const double p = 0.25;
  // One block with a tail of 8 past the last 32-bit word; several blocks of
  // 16384 elements with a tail of 3.
  for (const std::int64_t n : {std::int64_t{5000}, std::int64_t{40003}}) {
    CAPTURE(n);
    const Tensor ones = Tensor::full(DType::f32, {n}, 1.0);
    const Tensor g = random({n}, 9);
    const DropoutRun r = run_dropout(ones, p, training(3, 8), g);
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    const float *out = r.out.data<float>(), *grad = r.grad.data<float>(), *pg = g.data<float>();
    std::int64_t mismatches = 0;
    for (std::int64_t i = 0; i < n; ++i) mismatches += grad[i] != (out[i] != 0 ? pg[i] * scale : 0.0f);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("dropout's gradient matches finite differences in training mode") {
  GradcheckOptions options;
  options.training = true;
  for (const Shape& s : {Shape{5, 7}, Shape{2, 3, 4}, Shape{1}})
    check_gradcheck([](Graph&, const std::vector<Expr>& x) { return dropout(x[0] * x[0], 0.3); }, {{.shape = s}},
                    options);
}

TEST_CASE("dropout gives the same bits on every executor in training mode") {
  check_backends_agree([](Graph&, const std::vector<Expr>& x) { return dropout(x[0], 0.2) * x[0]; },
                       {{.shape = {70, 1001}}}, true);
}

TEST_CASE("dropout refuses p outside [0, 1) and non-floating inputs") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3}});
  Expr ids = input(g, "ids", {DType::i32, {2, 3}});
  CHECK_THROWS_WITH_AS(dropout(x, 1.0), doctest::Contains("[dropout] p must be in [0, 1), got 1"), Error);
  CHECK_THROWS_WITH_AS(dropout(x, -0.1), doctest::Contains("[dropout] p must be in [0, 1)"), Error);
  CHECK_THROWS_WITH_AS(dropout(ids, 0.1), doctest::Contains("[dropout] needs a floating input, got i32(2, 3)"),
                       ShapeError);
}

TEST_CASE("the registry creates dropout from its p attribute") {
  ensure_builtin_ops();
  const GraphBuilder by_name = [](Graph&, const std::vector<Expr>& x) { return apply("dropout", {x[0]}, {{"p", 0.4}}); };
  const GraphBuilder direct = [](Graph&, const std::vector<Expr>& x) { return dropout(x[0], 0.4); };
  CHECK(run_forward(by_name, {{.shape = {300}}}, DType::f32, true)
            .bit_equal(run_forward(direct, {{.shape = {300}}}, DType::f32, true)));
}
