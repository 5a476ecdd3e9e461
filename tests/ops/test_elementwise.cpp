#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.hpp"
#include "ops/elementwise.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {
GradcheckInput at(Shape s, double low = -1, double high = 1) { return {.shape = std::move(s), .low = low, .high = high}; }
GradcheckInput values(Shape s, std::vector<double> v) {
  return {.shape = s, .value = Tensor::from<double>(s, v)};
}
}  // namespace

TEST_CASE("binary ops compute hand-checked values with broadcasting") {
  const auto a = values({2, 2}, {1, 2, 3, 4});
  const auto b = values({2}, {10, 20});
  auto two = [](auto f) { return [f](Graph&, const std::vector<Expr>& x) { return f(x[0], x[1]); }; };
  check_close(run_forward(two([](Expr p, Expr q) { return p + q; }), {a, b}), {11, 22, 13, 24});
  check_close(run_forward(two([](Expr p, Expr q) { return p - q; }), {a, b}), {-9, -18, -7, -16});
  check_close(run_forward(two([](Expr p, Expr q) { return p * q; }), {a, b}), {10, 40, 30, 80});
  check_close(run_forward(two([](Expr p, Expr q) { return p / q; }), {a, b}), {0.1, 0.1, 0.3, 0.2});
  // (2,1) with (1,3) broadcasts to (2,3)
  check_close(run_forward(two([](Expr p, Expr q) { return p * q; }), {values({2, 1}, {2, 3}), values({1, 3}, {1, 2, 3})}),
              {2, 4, 6, 3, 6, 9});
}

TEST_CASE("unary ops compute hand-checked values") {
  const auto x = values({4}, {-1, 0, 0.5, 2});
  auto one = [](auto f) { return [f](Graph&, const std::vector<Expr>& v) { return f(v[0]); }; };
  check_close(run_forward(one([](Expr e) { return -e; }), {x}), {1, 0, -0.5, -2});
  check_close(run_forward(one([](Expr e) { return relu(e); }), {x}), {0, 0, 0.5, 2});
  check_close(run_forward(one([](Expr e) { return exp(e); }), {x}), {std::exp(-1.0), 1, std::exp(0.5), std::exp(2.0)}, 1e-6);
  check_close(run_forward(one([](Expr e) { return scale(e, -3); }), {x}), {3, 0, -1.5, -6});
  check_close(run_forward(one([](Expr e) { return log(e); }), {values({3}, {1, std::exp(1.0), 0.5})}),
              {0, 1, std::log(0.5)}, 1e-6);
}

TEST_CASE("elementwise shape errors are caught when the node is created") {
  Graph g;
  Expr a = input(g, "a", {DType::f32, {2, 3}});
  Expr b = input(g, "b", {DType::f32, {2}});
  Expr d = input(g, "d", {DType::f64, {2, 3}});
  Expr ids = input(g, "ids", {DType::i32, {2, 3}});
  CHECK_THROWS_WITH_AS(a * b, doctest::Contains("[mul] shapes (2, 3) and (2,) do not broadcast"), ShapeError);
  CHECK_THROWS_WITH_AS(a + d, doctest::Contains("[add] inputs must share one floating dtype"), ShapeError);
  CHECK_THROWS_WITH_AS(relu(ids), doctest::Contains("[relu] needs a floating input"), ShapeError);
}

TEST_CASE("elementwise ops give the same bits on every executor") {
  check_backends_agree([](Graph&, const std::vector<Expr>& x) { return relu(x[0] * x[1] + x[1]) / exp(x[0]); },
                       {at({64, 300}), at({300})});
  check_backends_agree([](Graph&, const std::vector<Expr>& x) { return log(x[0] - x[1]); },
                       {at({40, 1, 70}, 3, 4), at({5, 1}, 0, 1)});
}
