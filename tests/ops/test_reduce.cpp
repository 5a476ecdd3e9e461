#include <doctest/doctest.h>

#include "engine/error.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {
GradcheckInput x234() {
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[static_cast<std::size_t>(i)] = i;
  return {.shape = {2, 3, 4}, .value = Tensor::from<double>({2, 3, 4}, v)};
}
}  // namespace

TEST_CASE("sum and mean over axes compute hand-checked values") {
  auto f = [](auto op) { return [op](Graph&, const std::vector<Expr>& x) { return op(x[0]); }; };
  check_close(run_forward(f([](Expr e) { return sum(e); }), {x234()}), {276});
  check_close(run_forward(f([](Expr e) { return sum(e, {2}); }), {x234()}), {6, 22, 38, 54, 70, 86});
  check_close(run_forward(f([](Expr e) { return sum(e, {0, 2}); }), {x234()}), {60, 92, 124});
  check_close(run_forward(f([](Expr e) { return mean(e, {1}); }), {x234()}), {4, 5, 6, 7, 16, 17, 18, 19});
  check_close(run_forward(f([](Expr e) { return mean(e, {-1}, true); }), {x234()}), {1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
  CHECK(run_forward(f([](Expr e) { return mean(e, {-1}, true); }), {x234()}).shape() == Shape{2, 3, 1});
  CHECK(run_forward(f([](Expr e) { return sum(e, {0, 2}); }), {x234()}).shape() == Shape{3});
}

TEST_CASE("reductions reject bad axes when the node is created") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3}});
  CHECK_THROWS_WITH_AS(sum(x, {2}), doctest::Contains("[sum] axis 2 is out of range for rank 2"), ShapeError);
  CHECK_THROWS_WITH_AS(mean(x, {-3}), doctest::Contains("[mean] axis -3"), ShapeError);
}

TEST_CASE("reduction gradients match finite differences") {
  for (auto axes : std::vector<std::vector<std::int64_t>>{{}, {0}, {1}, {-1}, {0, 2}})
    for (bool keep : {false, true}) {
      INFO("axes " << axes.size() << " keep " << keep);
      check_gradcheck([=](Graph&, const std::vector<Expr>& x) { return sum(x[0], axes, keep); }, {{.shape = {2, 3, 4}}});
      check_gradcheck([=](Graph&, const std::vector<Expr>& x) { return mean(x[0], axes, keep); }, {{.shape = {2, 3, 4}}});
    }
}

TEST_CASE("reductions give the same bits on every executor") {
  check_backends_agree([](Graph&, const std::vector<Expr>& x) { return mean(x[0] * x[0], {0}) + sum(x[0], {1}, true); },
                       {{.shape = {257, 257}}});
}
