#include <doctest/doctest.h>

#include <functional>

#include "engine/error.hpp"
#include "engine/registry.hpp"
#include "ops/activations.hpp"
#include "ops/builtin.hpp"
#include "ops/elementwise.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {
GradcheckInput at(Shape s, double low, double high) { return {.shape = std::move(s), .low = low, .high = high}; }
GradcheckInput values(Shape s, std::vector<double> v) { return {.shape = s, .value = Tensor::from<double>(s, v)}; }
using Unary = std::function<Expr(Expr)>;
GraphBuilder one(Unary f) {
  return [f](Graph&, const std::vector<Expr>& x) { return f(x[0]); };
}
}  // namespace

TEST_CASE("gelu matches x * Phi(x) and GPT-2's tanh form at hand-checked points") {
  const auto x = values({4}, {-1, 0, 0.5, 2});
  // 0.5 x (1 + erf(x / sqrt 2)), and 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  check_close(run_forward(one([](Expr e) { return gelu(e); }), {x}, DType::f64),
              {-0.15865525393145707, 0, 0.34573123063700656, 1.9544997361036416}, 1e-12);
  check_close(run_forward(one([](Expr e) { return gelu(e, true); }), {x}, DType::f64),
              {-0.15880800939172324, 0, 0.34571400982514394, 1.954597694087775}, 1e-12);
  check_close(run_forward(one([](Expr e) { return gelu(e); }), {x}), {-0.158655254, 0, 0.345731231, 1.954499736}, 1e-6);
}

TEST_CASE("tanh, sigmoid, sqrt and rsqrt compute hand-checked values") {
  check_close(run_forward(one([](Expr e) { return tanh(e); }), {values({3}, {0, 1, -0.5})}),
              {0, 0.7615941559557649, -0.46211715726000974});
  // sigmoid stays finite and exact at the extremes (exp never overflows)
  check_close(run_forward(one([](Expr e) { return sigmoid(e); }), {values({5}, {0, 2, -2, 100, -100})}),
              {0.5, 0.8807970779778823, 0.11920292202211755, 1, 0});
  check_close(run_forward(one([](Expr e) { return sqrt(e); }), {values({3}, {4, 0.25, 0})}), {2, 0.5, 0});
  check_close(run_forward(one([](Expr e) { return rsqrt(e); }), {values({2}, {4, 0.25})}), {0.5, 2});
}

TEST_CASE("activations refuse non-floating inputs when the node is created") {
  Graph g;
  Expr ids = input(g, "ids", {DType::i32, {2, 3}});
  CHECK_THROWS_WITH_AS(gelu(ids), doctest::Contains("[gelu] needs a floating input, got i32(2, 3)"), ShapeError);
  CHECK_THROWS_WITH_AS(sigmoid(ids), doctest::Contains("[sigmoid] needs a floating input"), ShapeError);
  CHECK_THROWS_WITH_AS(rsqrt(ids), doctest::Contains("[rsqrt] needs a floating input"), ShapeError);
}

TEST_CASE("activations give the same bits on every executor") {
  check_backends_agree(
      [](Graph&, const std::vector<Expr>& x) {
        return gelu(x[0]) + gelu(x[0], true) * tanh(x[0]) + sigmoid(x[0]) * rsqrt(sqrt(exp(x[0])));
      },
      {at({64, 520}, -4, 4)});
}

TEST_CASE("the registry creates gelu in either form by its approximate attribute") {
  ensure_builtin_ops();
  auto by_name = [](const std::string& approx) {
    return one([approx](Expr e) { return apply("gelu", {e}, {{"approximate", approx}}); });
  };
  const auto x = values({3}, {-1, 0.5, 2});
  CHECK(run_forward(by_name("tanh"), {x}).bit_equal(run_forward(one([](Expr e) { return gelu(e, true); }), {x})));
  CHECK(run_forward(by_name("none"), {x}).bit_equal(run_forward(one([](Expr e) { return gelu(e); }), {x})));
  CHECK_THROWS_WITH_AS(default_registry().create("gelu", {{"approximate", std::string("fast")}}),
                       doctest::Contains("[gelu] attribute 'approximate' must be"), Error);
}
