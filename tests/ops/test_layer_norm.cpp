#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.hpp"
#include "engine/registry.hpp"
#include "ops/builtin.hpp"
#include "ops/elementwise.hpp"
#include "ops/layer_norm.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {
GradcheckInput at(Shape s, double low = -1, double high = 1) { return {.shape = std::move(s), .low = low, .high = high}; }
GradcheckInput values(Shape s, std::vector<double> v) { return {.shape = s, .value = Tensor::from<double>(s, v)}; }
Expr ln(Graph&, const std::vector<Expr>& x) { return layer_norm(x[0], x[1], x[2]); }
}  // namespace

TEST_CASE("layer_norm normalises each row with the biased variance and eps inside the root") {
  // Row [1, 2, 3]: mean 2, var 2/3, xhat = [-1, 0, 1] / sqrt(2/3 + 1e-5).
  // Row [-4, 0, 1]: mean -1, var 14/3. Row [5, 5, 5]: var 0, so y = bias.
  const auto x = values({3, 3}, {1, 2, 3, -4, 0, 1, 5, 5, 5});
  const auto gain = values({3}, {1, 2, 0.5});
  const auto bias = values({3}, {0.5, -1, 7});
  check_close(run_forward(ln, {x, gain, bias}, DType::f64),
              {-0.7247356859083902, -1.0, 7.612367842954195, -0.8887286617360581, -0.07418089217596124,
               7.462909553912019, 0.5, -1, 7},
              1e-12);
  check_close(run_forward([](Graph&, const std::vector<Expr>& v) { return layer_norm(v[0], v[1], v[2], 0.0); },
                          {values({1, 2}, {3, 5}), values({2}, {1, 1}), values({2}, {0, 0})}),
              {-1, 1});
}

TEST_CASE("layer_norm of a 19-wide row matches a direct two-pass computation") {
  // Row x_d = (d - 7)^2 / 10 for d < 19 (8-lane sums: two full rounds and a tail of 3).
  std::vector<double> x(19), gain(19), bias(19), expected(19);
  for (std::size_t d = 0; d < 19; ++d) {
    x[d] = (double(d) - 7) * (double(d) - 7) / 10;
    gain[d] = 0.5 + 0.1 * double(d);
    bias[d] = 0.25 - 0.05 * double(d);
  }
  double mean = 0, var = 0;
  for (double v : x) mean += v / 19;
  for (double v : x) var += (v - mean) * (v - mean) / 19;
  for (std::size_t d = 0; d < 19; ++d) expected[d] = (x[d] - mean) / std::sqrt(var + 1e-5) * gain[d] + bias[d];
  check_close(run_forward(ln, {values({1, 19}, x), values({19}, gain), values({19}, bias)}, DType::f64), expected,
              1e-12);
  check_close(run_forward(ln, {values({1, 19}, x), values({19}, gain), values({19}, bias)}), expected, 1e-5);
}

TEST_CASE("layer_norm of a constant row gives the bias and finite gradients") {
  const auto x = values({2, 4}, {3, 3, 3, 3, -1e3, -1e3, -1e3, -1e3});
  const auto gain = values({4}, {1, -2, 3, 0.5});
  const auto bias = values({4}, {0.1, 0.2, 0.3, 0.4});
  check_close(run_forward(ln, {x, gain, bias}), {0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4});
  for (const Tensor& t : run_all(ln, {x, gain, bias}, DType::f32, Backend::sequential, 1)) {
    REQUIRE(t.defined());
    CHECK_FALSE(t.has_non_finite());
  }
}

TEST_CASE("layer_norm shape errors name the shapes when the node is created") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3, 4}});
  Expr g4 = input(g, "g4", {DType::f32, {4}});
  Expr g3 = input(g, "g3", {DType::f32, {3}});
  Expr d4 = input(g, "d4", {DType::f64, {4}});
  Expr s = input(g, "s", {DType::f32, {}});
  CHECK_THROWS_WITH_AS(layer_norm(x, g3, g4),
                       doctest::Contains("[layer_norm] x (2, 3, 4) needs gain and bias of shape (4,), got (3,) and (4,)"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(layer_norm(x, g4, d4), doctest::Contains("[layer_norm] x, gain and bias must share one floating dtype"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(layer_norm(s, s, s), doctest::Contains("[layer_norm] x must have at least one axis"), ShapeError);
  CHECK_THROWS_WITH_AS(layer_norm(x, g4, g4, -1), doctest::Contains("[layer_norm] eps must be >= 0"), Error);
}

TEST_CASE("layer_norm's gradients flow through a computed x and gain, as finite differences say") {
  check_gradcheck(
      [](Graph&, const std::vector<Expr>& x) { return layer_norm(x[0] * x[0], exp(x[1]), x[2], 1e-3); },
      {at({3, 4}), at({4}), at({4})});
}

TEST_CASE("layer_norm gives the same bits on every executor, parameter sums included") {
  // 600 rows of 96: several fixed blocks of rows, so dgain and dbias combine partial sums.
  check_backends_agree(ln, {at({3, 200, 96}, -3, 3), at({96}, 0.5, 1.5), at({96})});
}

TEST_CASE("the registry creates layer_norm from its eps attribute") {
  ensure_builtin_ops();
  CHECK(default_registry().create("layer_norm", {{"eps", 1e-6}})->describe() == "eps=1e-06");
  CHECK(default_registry().create("layer_norm")->describe() == "eps=1e-05");
}
