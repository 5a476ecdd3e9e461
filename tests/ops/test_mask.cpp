#include <doctest/doctest.h>

#include <limits>

#include "engine/error.hpp"
#include "ops/mask.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// The value of `e` after one sequential forward run with `feeds`.
Tensor evaluate(Graph& g, Expr e, const Feeds& feeds = {}) {
  Executor ex(Backend::sequential);
  ex.forward(g, feeds, {e.id});
  return ex.value(e.id);
}

GraphBuilder fill(double value) {
  return [value](Graph&, const std::vector<Expr>& x) { return masked_fill(x[0], x[1], value); };
}

}  // namespace

TEST_CASE("subsequent_mask lets each query see itself and the keys before it") {
  Graph g;
  const Tensor m = evaluate(g, subsequent_mask(g, 3));
  CHECK(m.dtype() == DType::f32);
  CHECK(m.shape() == Shape{1, 3, 3});
  check_close(m, {1, 0, 0, 1, 1, 0, 1, 1, 1});
  Graph g64(nullptr, DType::f64);
  const Tensor one = evaluate(g64, subsequent_mask(g64, 1));
  CHECK(one.dtype() == DType::f64);
  check_close(one, {1});
  CHECK_THROWS_WITH_AS(subsequent_mask(g, -1), doctest::Contains("[subsequent_mask] T must be >= 0, got -1"),
                       ShapeError);
}

TEST_CASE("padding_mask marks every id that is not the pad") {
  Graph g;
  const Expr ids = input(g, "ids", {DType::i32, {2, 3}});
  const Expr m = padding_mask(ids, 0);
  CHECK(m.shape() == Shape{2, 1, 3});
  CHECK(m.dtype() == DType::f32);
  const Tensor v = evaluate(g, m, {{ids.id, Tensor::from<std::int32_t>({2, 3}, {5, 7, 0, 0, 2, 0})}});
  check_close(v, {1, 1, 0, 0, 1, 0});
  CHECK_THROWS_WITH_AS(padding_mask(input(g, "f", {DType::f32, {2, 3}}), 0),
                       doctest::Contains("[padding_mask] needs i32 ids of shape (B, S), got f32(2, 3)"), ShapeError);
  CHECK_THROWS_AS(padding_mask(input(g, "flat", {DType::i32, {6}}), 0), ShapeError);
}

TEST_CASE("masked_fill keeps x where the mask is set and writes the value elsewhere") {
  const auto x = fixed_input({2, 3}, {1, 2, 3, 4, 5, 6});
  check_close(run_forward(fill(-9), {x, fixed_input({3}, {1, 0, 1}, false)}), {1, -9, 3, 4, -9, 6});
  check_close(run_forward(fill(-1e9), {x, fixed_input({2, 1}, {0, 1}, false)}), {-1e9, -1e9, -1e9, 4, 5, 6});
  // The gradient is g where kept, 0 where filled.
  const auto results = run_all(fill(0), {x, fixed_input({3}, {1, 0, 1}, false)}, DType::f64, Backend::sequential, 1);
  REQUIRE(results.size() == 2);
  const auto dx = results[1].to_vector();
  CHECK(dx[1] == 0);
  CHECK(dx[4] == 0);
  CHECK(dx[0] != 0);
}

TEST_CASE("masked_fill with -inf writes -inf and passes no gradient to filled positions") {
  const double inf = std::numeric_limits<double>::infinity();
  const auto x = fixed_input({2, 2}, {1, 2, 3, 4});
  const Tensor y = run_forward(fill(-inf), {x, fixed_input({2}, {1, 0}, false)});
  CHECK(y.at({0, 0}) == 1.0);
  CHECK(y.at({0, 1}) == -inf);
  CHECK(y.at({1, 1}) == -inf);
  const auto results = run_all(fill(-inf), {x, fixed_input({2}, {1, 0}, false)}, DType::f64, Backend::sequential, 1);
  REQUIRE(results.size() == 2);
  const auto dx = results[1].to_vector();
  CHECK(dx[0] != 0);
  CHECK(dx[1] == 0);
  CHECK(dx[3] == 0);
}

TEST_CASE("masked_fill rejects masks that do not broadcast to x, naming the shapes") {
  Graph g;
  const Expr x = input(g, "x", {DType::f32, {2, 3}});
  CHECK_THROWS_WITH_AS(masked_fill(x, input(g, "m", {DType::f32, {2}}), 0),
                       doctest::Contains("[masked_fill] mask (2,) does not broadcast to scores (2, 3)"), ShapeError);
  CHECK_THROWS_WITH_AS(masked_fill(x, input(g, "m64", {DType::f64, {3}}), 0),
                       doctest::Contains("[masked_fill] mask must have the scores' dtype f32, got f64"), ShapeError);
}

TEST_CASE("masks give the same bits on every executor") {
  std::vector<double> keep(300);
  for (std::size_t i = 0; i < keep.size(); ++i) keep[i] = i % 4 ? 1 : 0;
  check_backends_agree(fill(-3), {uniform_input({64, 300}), fixed_input({300}, keep, false)});
  check_backends_agree(
      [](Graph& g, const std::vector<Expr>& x) { return masked_fill(x[0], subsequent_mask(g, 200), -1e9); },
      {uniform_input({3, 200, 200})});
}
