#include <doctest/doctest.h>

#include "engine/error.hpp"
#include "ops/concat.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

GradcheckInput iota(const Shape& s, double start = 0) {
  std::vector<double> v(static_cast<std::size_t>(numel(s)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<double>(i);
  return fixed_input(s, v);
}
GraphBuilder join(std::int64_t axis) {
  return [axis](Graph&, const std::vector<Expr>& x) { return concat(x, axis); };
}
GraphBuilder cut(std::int64_t axis, std::int64_t start, std::int64_t end) {
  return [=](Graph&, const std::vector<Expr>& x) { return slice(x[0], axis, start, end); };
}

}  // namespace

TEST_CASE("concat joins along any axis as numpy does") {
  const auto a = iota({2, 2}), b = iota({2, 1}, 10);
  const Tensor rows = run_forward(join(0), {a, iota({1, 2}, 10)});
  CHECK(rows.shape() == Shape{3, 2});
  check_close(rows, {0, 1, 2, 3, 10, 11});
  const Tensor cols = run_forward(join(-1), {a, b, a});
  CHECK(cols.shape() == Shape{2, 5});
  check_close(cols, {0, 1, 10, 0, 1, 2, 3, 11, 2, 3});
  check_close(run_forward(join(1), {iota({2, 1, 2}), iota({2, 2, 2}, 10)}),
              {0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16, 17});
  check_close(run_forward(join(0), {iota({2})}), {0, 1});  // one input: a copy
  check_close(run_forward(join(0), {iota({0, 2}), iota({1, 2})}), {0, 1});
}

TEST_CASE("concat and slice move token ids too") {
  Graph g;
  const Expr a = input(g, "a", {DType::i32, {1, 2}}), b = input(g, "b", {DType::i32, {1, 1}});
  const Expr c = slice(concat({a, b}, 1), 1, 1, 3);
  Executor ex(Backend::sequential);
  ex.forward(g, {{a.id, Tensor::from<std::int32_t>({1, 2}, {4, 5})}, {b.id, Tensor::from<std::int32_t>({1, 1}, {6})}},
             {c.id});
  CHECK(ex.value(c.id).dtype() == DType::i32);
  check_close(ex.value(c.id), {5, 6});
}

TEST_CASE("slice takes [start, end) along an axis") {
  const auto x = iota({2, 3, 4});
  const Tensor s = run_forward(cut(1, 1, 3), {x});
  CHECK(s.shape() == Shape{2, 2, 4});
  check_close(s, {4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23});
  check_close(run_forward(cut(-1, 3, 4), {x}), {3, 7, 11, 15, 19, 23});
  check_close(run_forward(cut(0, 1, 2), {iota({2, 2})}), {2, 3});
  CHECK(run_forward(cut(2, 2, 2), {x}).shape() == Shape{2, 3, 0});
}

TEST_CASE("concat and slice name the shapes they reject") {
  Graph g;
  const Expr a = input(g, "a", {DType::f32, {2, 3}});
  CHECK_THROWS_WITH_AS(
      concat({a, input(g, "r", {DType::f32, {2, 3, 1}})}, 0),
      doctest::Contains("[concat] input 1 is f32(2, 3, 1), input 0 is f32(2, 3): dtype and rank must match"),
      ShapeError);
  CHECK_THROWS_WITH_AS(
      concat({a, input(g, "d", {DType::f32, {2, 4}})}, 0),
      doctest::Contains("[concat] input 1 (2, 4) and input 0 (2, 3) differ in dim 1 (concat axis is 0)"), ShapeError);
  CHECK_THROWS_AS(concat({a, input(g, "t", {DType::f64, {2, 3}})}, 0), ShapeError);
  CHECK_THROWS_AS(concat({a}, 2), ShapeError);
  CHECK_THROWS_WITH_AS(concat({}, 0), doctest::Contains("[concat] needs at least one input"), ShapeError);
  CHECK_THROWS_WITH_AS(slice(a, 1, 2, 4), doctest::Contains("[slice] [2, 4) is out of range for axis 1 of (2, 3)"),
                       ShapeError);
  CHECK_THROWS_AS(slice(a, 0, -1, 1), ShapeError);
  CHECK_THROWS_AS(slice(a, 0, 2, 1), ShapeError);
  CHECK_THROWS_AS(slice(a, 2, 0, 1), ShapeError);
}

TEST_CASE("slices concatenated in another order have the gradient finite differences give") {
  check_gradcheck(
      [](Graph&, const std::vector<Expr>& x) {
        return concat({slice(x[0], 1, 2, 4), slice(x[0], 1, 0, 2)}, 1);
      },
      {uniform_input({2, 4})});
}

TEST_CASE("concat and slice give the same bits on every executor") {
  check_backends_agree(join(1), {uniform_input({64, 30, 40}), uniform_input({64, 50, 40})});
  check_backends_agree(cut(1, 7, 250), {uniform_input({40, 300, 8})});
}
