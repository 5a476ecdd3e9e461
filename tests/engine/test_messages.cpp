// The executor's and the leaves' errors name what the user wrote: an input
// by its name and expected type, a node by its label and op, never only by
// an id or by the op's generic label ("input").
#include <doctest/doctest.h>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"

using namespace attograd;

TEST_CASE("a missing feed names the input and the type it expects") {
  Graph g;
  Expr ids = input(g, "tokens", {DType::i32, {2, 3}});   // node 0
  Expr x = input(g, "features", {DType::f32, {2, 3}});  // node 1
  Expr y = relu(x);
  Executor ex(Backend::sequential);
  CHECK_THROWS_WITH_AS(ex.forward(g, {{ids.id, Tensor::zeros(DType::i32, {2, 3})}}, {y.id}),
                       doctest::Contains("[input] no value was fed for input 'features' (f32(2, 3), node 1)"),
                       NodeError);
}

TEST_CASE("asking for a value, a gradient or a backward that is not there names the node") {
  Graph g;
  Expr x = input(g, "features", {DType::f32, {2}});
  Expr y = relu(x);
  Expr loss = sum(y);
  Executor ex(Backend::sequential);
  CHECK_THROWS_WITH_AS(ex.backward(loss.id),
                       "[executor] backward from node 2 before a forward() that computed it", Error);
  ex.forward(g, {{x.id, Tensor::full(DType::f32, {2}, 1.0)}}, {loss.id});
  CHECK_THROWS_WITH_AS(ex.value(y.id),
                       "[executor] node 1 'relu' (relu) has no value: it was not a target of the last forward()",
                       Error);
  ex.backward(loss.id);
  CHECK_THROWS_WITH_AS(ex.grad(x.id), doctest::Contains("node 0 'input' (input 'features') has no gradient"), Error);
}
