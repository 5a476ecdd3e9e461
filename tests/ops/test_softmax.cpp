#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.hpp"
#include "ops/elementwise.hpp"
#include "ops/softmax.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

GraphBuilder soft(std::int64_t axis = -1) {
  return [axis](Graph&, const std::vector<Expr>& x) { return softmax(x[0], axis); };
}
GraphBuilder log_soft(std::int64_t axis = -1) {
  return [axis](Graph&, const std::vector<Expr>& x) { return log_softmax(x[0], axis); };
}
GraphBuilder masked(std::int64_t axis = -1) {
  return [axis](Graph&, const std::vector<Expr>& x) { return masked_softmax(x[0], x[1], axis); };
}
GradcheckInput keep(const Shape& s, const std::vector<double>& v) { return fixed_input(s, v, false); }

void check_all_finite(const std::vector<Tensor>& results) {
  for (const Tensor& t : results)
    if (t.defined()) CHECK_FALSE(t.has_non_finite());
}

}  // namespace

TEST_CASE("softmax and log_softmax compute hand-checked values") {
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), s = 1 + e1 + e2;
  const auto x = fixed_input({2, 3}, {0, 1, 2, 0, 0, 0});
  check_close(run_forward(soft(), {x}), {1 / s, e1 / s, e2 / s, 1. / 3, 1. / 3, 1. / 3});
  check_close(run_forward(log_soft(), {x}),
              {-std::log(s), 1 - std::log(s), 2 - std::log(s), -std::log(3.0), -std::log(3.0), -std::log(3.0)}, 1e-6);
  // Along axis 0, each column of [[0, 1, 2], [0, 0, 0]] is one row.
  const double a = 1 / (1 + std::exp(-1.0)), b = 1 / (1 + std::exp(-2.0));
  check_close(run_forward(soft(0), {x}), {0.5, a, b, 0.5, 1 - a, 1 - b});
}

TEST_CASE("softmax stays finite and exact for logits of +-1e4 and +-1e30") {
  for (DType t : {DType::f32, DType::f64}) {
    INFO(dtype_name(t));
    const auto big = fixed_input({2, 3}, {1e4, -1e4, 0, 1e30, -1e30, 1e30});
    check_close(run_forward(soft(), {big}, t), {1, 0, 0, 0.5, 0, 0.5});
    const std::vector<double> expected = {0, -2e4, -1e4, -std::log(2.0), -2e30, -std::log(2.0)};
    const std::vector<double> log_y = run_forward(log_soft(), {big}, t).to_vector();
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(log_y[i] == doctest::Approx(expected[i]));
    const auto m = keep({1, 3}, {0, 1, 1});
    check_close(run_forward(masked(), {big, m}, t), {0, 0, 1, 0, 0, 1});
    check_all_finite(run_all(soft(), {big}, t, Backend::sequential, 1));
    check_all_finite(run_all(log_soft(), {big}, t, Backend::sequential, 1));
    check_all_finite(run_all(masked(), {big, m}, t, Backend::sequential, 1));
  }
}

TEST_CASE("masked_softmax gives masked positions probability 0 and fully masked rows zeros, not NaN") {
  // Row 0 keeps positions 0 and 2; row 1 keeps nothing.
  const auto x = fixed_input({2, 3}, {1, 5, 1, 2, 3, 4});
  const auto m = keep({2, 3}, {1, 0, 1, 0, 0, 0});
  check_close(run_forward(masked(), {x, m}), {0.5, 0, 0.5, 0, 0, 0});
  for (DType t : {DType::f32, DType::f64}) {
    const auto results = run_all(masked(), {x, m}, t, Backend::sequential, 1);  // value, dx
    REQUIRE(results.size() == 2);
    check_all_finite(results);
    const std::vector<double> dx = results[1].to_vector();
    CHECK(dx[1] == 0);  // masked position
    CHECK(dx[3] == 0);
    CHECK(dx[4] == 0);
    CHECK(dx[5] == 0);
    CHECK(dx[0] == doctest::Approx(-dx[2]));  // two kept positions with equal weights
  }
  // A broadcast causal mask (1, 3, 3) over (2, 3, 3) scores.
  const auto causal = keep({1, 3, 3}, {1, 0, 0, 1, 1, 0, 1, 1, 1});
  const Tensor y = run_forward(masked(), {fixed_input({2, 3, 3}, std::vector<double>(18, 0.0)), causal});
  check_close(y, {1, 0, 0, .5, .5, 0, 1. / 3, 1. / 3, 1. / 3, 1, 0, 0, .5, .5, 0, 1. / 3, 1. / 3, 1. / 3});
}

TEST_CASE("softmax handles size-1 dims") {
  check_close(run_forward(soft(), {uniform_input({3, 1})}), {1, 1, 1});
  check_close(run_forward(soft(0), {uniform_input({1, 4})}), {1, 1, 1, 1});
  check_close(run_forward(log_soft(), {uniform_input({2, 1})}), {0, 0});
  check_close(run_forward(masked(), {uniform_input({2, 1}), keep({2, 1}, {1, 0})}), {1, 0});
  CHECK(run_forward(soft(), {uniform_input({0, 3})}).numel() == 0);
}

TEST_CASE("softmax over an empty axis reads nothing and writes nothing") {
  // Three rows of length 0: no element to take a maximum of (the SIMD row
  // kernels need n >= 1; the storage of an empty tensor is poisoned under ASan).
  for (DType t : {DType::f32, DType::f64}) {
    INFO(dtype_name(t));
    CHECK(run_forward(soft(), {uniform_input({3, 0})}, t).shape() == Shape{3, 0});
    CHECK(run_forward(log_soft(), {uniform_input({3, 0})}, t).numel() == 0);
    CHECK(run_forward(masked(), {uniform_input({3, 0}), keep({1, 0}, {})}, t).numel() == 0);
    CHECK(run_all(soft(), {uniform_input({2, 0})}, t, Backend::sequential, 1).size() == 2);
  }
}

TEST_CASE("softmax family rejects bad axes and masks, naming the shapes") {
  Graph g;
  const Expr x = input(g, "x", {DType::f32, {2, 3, 4}});
  CHECK_THROWS_AS(softmax(x, 3), ShapeError);
  CHECK_THROWS_AS(log_softmax(x, -4), ShapeError);
  CHECK_THROWS_WITH_AS(masked_softmax(x, input(g, "m", {DType::f32, {3, 3}})),
                       doctest::Contains("[masked_softmax] mask (3, 3) does not broadcast to scores (2, 3, 4)"),
                       ShapeError);
  // The mask may not enlarge the scores.
  CHECK_THROWS_WITH_AS(masked_softmax(x, input(g, "big", {DType::f32, {5, 2, 3, 4}})),
                       doctest::Contains("mask (5, 2, 3, 4) does not broadcast to scores (2, 3, 4)"), ShapeError);
  CHECK_THROWS_WITH_AS(masked_softmax(x, input(g, "m64", {DType::f64, {4}})),
                       doctest::Contains("[masked_softmax] mask must have the scores' dtype f32, got f64"), ShapeError);
  CHECK_THROWS_WITH_AS(softmax(input(g, "ids", {DType::i32, {2}})), doctest::Contains("[softmax] needs a floating"),
                       ShapeError);
}

TEST_CASE("softmax family gives the same bits on every executor") {
  check_backends_agree(soft(), {uniform_input({64, 300}, -5, 5)});
  check_backends_agree(log_soft(1), {uniform_input({8, 300, 9}, -5, 5)});
  std::vector<double> every_third_masked(4 * 60);
  for (std::size_t i = 0; i < every_third_masked.size(); ++i) every_third_masked[i] = i % 3 ? 1 : 0;
  check_backends_agree(masked(), {uniform_input({4, 2, 50, 60}, -5, 5), keep({4, 1, 1, 60}, every_third_masked)});
}

TEST_CASE("softmax with a scale computes hand-checked values: softmax of x * s") {
  // Row [0, 1, 2] scaled by 0.5 is [0, 0.5, 1]; row [2, 2, 2] stays uniform.
  const double e5 = std::exp(0.5), e1 = std::exp(1.0), s = 1 + e5 + e1;
  const auto x = fixed_input({2, 3}, {0, 1, 2, 2, 2, 2});
  auto scaled = [](Graph&, const std::vector<Expr>& in) { return softmax(in[0], -1, 0.5); };
  check_close(run_forward(scaled, {x}), {1 / s, e5 / s, e1 / s, 1. / 3, 1. / 3, 1. / 3});
  // Masked: row 0 keeps positions 0 and 2, so exp(0) and exp(1) share it.
  auto masked_scaled = [](Graph&, const std::vector<Expr>& in) { return masked_softmax(in[0], in[1], -1, 0.5); };
  const auto m = keep({1, 3}, {1, 0, 1});
  check_close(run_forward(masked_scaled, {x, m}), {1 / (1 + e1), 0, e1 / (1 + e1), 0.5, 0, 0.5});
  // log_softmax of [0, 2, 4] * 0.5 = log_softmax [0, 1, 2].
  auto log_scaled = [](Graph&, const std::vector<Expr>& in) { return log_softmax(in[0], -1, 0.5); };
  const double ls = std::log(1 + std::exp(1.0) + std::exp(2.0));
  check_close(run_forward(log_scaled, {fixed_input({1, 3}, {0, 2, 4})}), {-ls, 1 - ls, 2 - ls}, 1e-6);
}

TEST_CASE("a scaled softmax gives the same bits as scale followed by softmax, forward and backward") {
  // Attention's case: scores (B, H, T, S) scaled by 1/sqrt(K), a causal mask
  // (1, 1, T, S); and a strided axis, and log_softmax. In f32 and f64.
  const double s = 1.0 / std::sqrt(24.0);
  const auto scores = uniform_input({2, 3, 5, 5}, -4, 4);
  std::vector<double> causal;
  for (int t = 0; t < 5; ++t)
    for (int j = 0; j < 5; ++j) causal.push_back(j <= t ? 1 : 0);
  const auto mask = keep({1, 1, 5, 5}, causal);
  struct Case {
    const char* name;
    GraphBuilder fused, chain;
    std::vector<GradcheckInput> inputs;
  };
  const Case cases[] = {
      {"masked_softmax", [s](Graph&, const std::vector<Expr>& x) { return masked_softmax(x[0], x[1], -1, s); },
       [s](Graph&, const std::vector<Expr>& x) { return masked_softmax(scale(x[0], s), x[1], -1); },
       {scores, mask}},
      {"softmax axis 1", [s](Graph&, const std::vector<Expr>& x) { return softmax(x[0], 1, s); },
       [s](Graph&, const std::vector<Expr>& x) { return softmax(scale(x[0], s), 1); }, {scores}},
      {"log_softmax", [](Graph&, const std::vector<Expr>& x) { return log_softmax(x[0], -1, 1.7); },
       [](Graph&, const std::vector<Expr>& x) { return log_softmax(scale(x[0], 1.7), -1); }, {scores}}};
  for (const Case& c : cases)
    for (DType t : {DType::f32, DType::f64}) {
      INFO(c.name);
      INFO(dtype_name(t));
      const auto fused = run_all(c.fused, c.inputs, t, Backend::sequential, 1);
      const auto chain = run_all(c.chain, c.inputs, t, Backend::sequential, 1);
      REQUIRE(fused.size() == chain.size());
      for (std::size_t i = 0; i < fused.size(); ++i)
        if (fused[i].defined()) CHECK(fused[i].to_vector() == chain[i].to_vector());
    }
}

TEST_CASE("softmax refuses a scale that is not finite") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3}});
  CHECK_THROWS_WITH_AS(softmax(x, -1, INFINITY), doctest::Contains("[softmax] scale must be finite"), Error);
}
