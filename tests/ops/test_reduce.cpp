#include <doctest/doctest.h>

#include <cmath>

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

TEST_CASE("a vector's mean square has the gradient finite differences give") {
  check_gradcheck([](Graph&, const std::vector<Expr>& x) { return mean(x[0] * x[0]); }, {{.shape = {7}}});
}

TEST_CASE("reductions give the same bits on every executor") {
  check_backends_agree([](Graph&, const std::vector<Expr>& x) { return mean(x[0] * x[0], {0}) + sum(x[0], {1}, true); },
                       {{.shape = {257, 257}}});
}

TEST_CASE("max over axes computes hand-checked values and shapes") {
  auto f = [](auto op) { return [op](Graph&, const std::vector<Expr>& x) { return op(x[0]); }; };
  check_close(run_forward(f([](Expr e) { return max(e); }), {x234()}), {23});
  CHECK(run_forward(f([](Expr e) { return max(e); }), {x234()}).shape() == Shape{});
  check_close(run_forward(f([](Expr e) { return max(e, {2}); }), {x234()}), {3, 7, 11, 15, 19, 23});
  check_close(run_forward(f([](Expr e) { return max(e, {1}); }), {x234()}), {8, 9, 10, 11, 20, 21, 22, 23});
  check_close(run_forward(f([](Expr e) { return max(e, {0, -1}, true); }), {x234()}), {15, 19, 23});
  CHECK(run_forward(f([](Expr e) { return max(e, {0, -1}, true); }), {x234()}).shape() == Shape{1, 3, 1});
  // Negative values, and a maximum that is not last in its row.
  check_close(run_forward(f([](Expr e) { return max(e, {1}); }), {fixed_input({2, 3}, {-5, -1, -3, 4, 9, -9})}),
              {-1, 9});
  const Tensor with_nan = run_forward(f([](Expr e) { return max(e, {1}); }),
                                      {fixed_input({2, 3}, {1, NAN, 2, 1, 2, 3})});
  CHECK(std::isnan(with_nan.to_vector()[0]));
  CHECK(with_nan.to_vector()[1] == 3);
}

TEST_CASE("max sends each gradient to the first maximum of its group, and zero elsewhere") {
  // Rows [1, 3, 3] and [2, 0, 2]: the maxima tie, the first one gets g.
  for (Backend backend : {Backend::sequential, Backend::tbb}) {
    Graph g;
    Expr x = input(g, "x", {DType::f32, {2, 3}}, true);
    Expr y = max(x, {1});
    Executor ex(backend, 2);
    ex.forward(g, {{x.id, Tensor::from<float>({2, 3}, {1, 3, 3, 2, 0, 2})}}, {y.id});
    check_close(ex.value(y.id), {3, 2});
    ex.backward(y.id, Tensor::from<float>({2}, {10, 20}));
    check_close(ex.grad(x.id), {0, 10, 0, 20, 0, 0});
  }
  // Over axis 0 of a (3, 2): the first maximum is the lowest row.
  Graph g;
  Expr x = input(g, "x", {DType::f64, {3, 2}}, true);
  Expr y = max(x, {0}, true);
  Executor ex(Backend::sequential);
  ex.forward(g, {{x.id, Tensor::from<double>({3, 2}, {0, 7, 5, 7, 5, 1})}}, {y.id});
  ex.backward(y.id, Tensor::from<double>({1, 2}, {1, 2}));
  check_close(ex.grad(x.id), {0, 2, 1, 0, 0, 0});
}

TEST_CASE("max rejects bad axes, empty groups and integer input when the node is created") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3}});
  CHECK_THROWS_WITH_AS(max(x, {2}), doctest::Contains("[max] axis 2 is out of range for rank 2"), ShapeError);
  CHECK_THROWS_WITH_AS(max(x, {-3}), doctest::Contains("[max] axis -3"), ShapeError);
  Expr empty = input(g, "empty", {DType::f32, {2, 0}});
  CHECK_THROWS_WITH_AS(max(empty, {1}), doctest::Contains("[max] cannot reduce axis 1 of (2, 0): it is empty"),
                       ShapeError);
  CHECK(max(empty, {0}).shape() == Shape{0});  // empty output: nothing to reduce over
  CHECK_THROWS_WITH_AS(max(input(g, "ids", {DType::i32, {3}})), doctest::Contains("[max] needs a floating input"),
                       ShapeError);
}

TEST_CASE("max's gradient reaches x through exp and the max, as finite differences say") {
  check_gradcheck([](Graph&, const std::vector<Expr>& x) { return max(exp(x[0]) * x[0], {1}); },
                  {uniform_input({3, 5}, -2, 2)});
}

TEST_CASE("max gives the same bits on every executor") {
  check_backends_agree([](Graph&, const std::vector<Expr>& x) { return max(x[0] * x[0], {0}) + max(x[0], {1}, true); },
                       {uniform_input({257, 257})});
  check_backends_agree([](Graph&, const std::vector<Expr>& x) { return max(x[0], {1}); },
                       {fixed_input({2, 4}, {1, 1, 1, 1, 0, 2, 2, 0})});  // ties
}
