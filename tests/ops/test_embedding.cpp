#include <doctest/doctest.h>

#include "engine/error.hpp"
#include "engine/registry.hpp"
#include "ops/builtin.hpp"
#include "ops/elementwise.hpp"
#include "ops/embedding.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {
GradcheckInput ids(Shape s, std::vector<std::int32_t> v) {
  return {.shape = s, .dtype = DType::i32, .value = Tensor::from<std::int32_t>(s, v)};
}
GradcheckInput table(std::int64_t V, std::int64_t D) { return {.shape = {V, D}}; }
Expr lookup(Graph&, const std::vector<Expr>& x) { return embedding(x[0], x[1]); }
}  // namespace

TEST_CASE("embedding gathers the table rows named by the ids") {
  const GradcheckInput t{.shape = {3, 2}, .value = Tensor::from<double>({3, 2}, {1, 2, 3, 4, 5, 6})};
  const Tensor out = run_forward(lookup, {ids({1, 2}, {2, 0}), t});
  CHECK(out.shape() == Shape{1, 2, 2});
  check_close(out, {5, 6, 1, 2});
  check_close(run_forward(lookup, {ids({}, {1}), t}), {3, 4});
  check_close(run_forward(lookup, {ids({2, 2}, {1, 1, 0, 2}), t}), {3, 4, 3, 4, 1, 2, 5, 6});
}

TEST_CASE("embedding names an out-of-range id, its position and V") {
  const GradcheckInput t = table(3, 2);
  CHECK_THROWS_WITH_AS(run_forward(lookup, {ids({2, 2}, {0, 2, 3, 1}), t}),
                       doctest::Contains("[embedding] id 3 at position 2 of ids (2, 2) is out of range for a table of V = 3 rows"),
                       NodeError);
  CHECK_THROWS_WITH_AS(run_forward(lookup, {ids({2}, {-1, 0}), t}), doctest::Contains("id -1 at position 0"), NodeError);
}

TEST_CASE("embedding shape errors are caught when the node is created") {
  Graph g;
  Expr fids = input(g, "fids", {DType::f32, {2}});
  Expr iids = input(g, "iids", {DType::i32, {2}});
  Expr vec = input(g, "vec", {DType::f32, {4}});
  Expr itable = input(g, "itable", {DType::i32, {4, 2}});
  CHECK_THROWS_WITH_AS(embedding(fids, itable), doctest::Contains("[embedding] ids must be i32, got f32(2,)"), ShapeError);
  CHECK_THROWS_WITH_AS(embedding(iids, vec), doctest::Contains("[embedding] table must be a floating (V, D) matrix, got f32(4,)"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(embedding(iids, itable), doctest::Contains("table must be a floating (V, D) matrix"), ShapeError);
  CHECK_FALSE(g.node(embedding(iids, input(g, "t", {DType::f32, {4, 2}})).id).op->differentiable(0));
}

TEST_CASE("embedding's table gradient adds the output gradient rows of repeated ids") {
  Graph g;
  Expr i = input(g, "ids", {DType::i32, {4}});
  Expr t = input(g, "table", {DType::f64, {3, 2}}, true);
  Expr out = embedding(i, t);
  Executor ex(Backend::sequential);
  ex.forward(g, {{i.id, Tensor::from<std::int32_t>({4}, {1, 1, 0, 1})}, {t.id, Tensor::zeros(DType::f64, {3, 2})}},
             {out.id});
  ex.backward(out.id, Tensor::from<double>({4, 2}, {1, 2, 10, 20, 100, 200, 1000, 2000}));
  // row 0 <- position 2; row 1 <- positions 0, 1, 3; row 2 <- nothing
  check_close(ex.grad(t.id), {100, 200, 1011, 2022, 0, 0});
}

TEST_CASE("embedding's table gradient matches finite differences when the table is used twice") {
  // looked up, and added to the result
  check_gradcheck([](Graph&, const std::vector<Expr>& x) { return embedding(x[0], x[1] * x[1]) + x[1]; },
                  {ids({2}, {1, 1}), table(2, 4)});
}

TEST_CASE("embedding gives the same bits on every executor") {
  // 2000 positions over 300 rows of 64: several blocks in forward and backward.
  check_backends_agree(lookup, {{.shape = {40, 50}, .dtype = DType::i32, .low = 0, .high = 300}, table(300, 64)});
}

TEST_CASE("the registry creates embedding by name") {
  ensure_builtin_ops();
  CHECK(default_registry().create("embedding")->name() == "embedding");
  CHECK_FALSE(default_registry().create("embedding")->differentiable(0));
}
