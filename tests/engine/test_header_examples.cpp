// The code examples of the engine's headers, compiled and run. Each block
// between "// example from <header>" and "// end of example" is the header's
// own text (tests/support/header_examples.hpp checks it); the lines around it
// give the example the names it assumes.
#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include "engine/executor.hpp"
#include "engine/gradcheck.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "engine/registry.hpp"
#include "engine/xview.hpp"
#include "ops/elementwise.hpp"
#include "ops/matmul.hpp"
#include "ops/reduce.hpp"
#include "tests/support/header_examples.hpp"

using namespace attograd;

TEST_CASE("every example compiled here is its header's text") {
  CHECK(testing::check_header_examples("tests/engine/test_header_examples.cpp") == 7);
}

TEST_CASE("the graph, leaves and executor examples build, run and train") {
  ParameterStore params(1);
  const std::int64_t B = 2, S = 3, D = 4, D_out = 5, D_in = 4;
  // example from engine/graph.hpp
  Graph g(&params);
  auto s = g.scope("encoder");            // labels: "encoder.<op>"
  Expr x = input(g, "x", {DType::f32, {B, S, D}});
  Expr y = relu(x);                       // shape inferred here, or ShapeError
  // end of example
  CHECK(g.node(y.id).label == "encoder.relu");
  {
    // example from engine/leaves.hpp
    Expr ids = input(g, "src", {DType::i32, {B, S}});          // fed per run
    Expr x   = input(g, "x", {DType::f64, {3}}, /*requires_grad=*/true);
    Expr w   = parameter(g, "weight", {D_out, D_in}, Init::xavier_uniform());
    Expr c   = constant(g, Tensor::full(DType::f32, {1}, 0.5));
    // end of example
    CHECK(ids.dtype() == DType::i32);
    CHECK(params.contains("encoder.weight"));
    CHECK(w.shape() == Shape{D_out, D_in});
    CHECK(x.shape() == Shape{3});
    CHECK(c.shape() == Shape{1});
  }
  Expr w = parameter(g, "weight", {D_out, D_in}, Init::xavier_uniform());
  Expr loss = mean(matmul(y, w, false, true));  // (B, S, D_out) -> ()
  const Tensor batch = Tensor::full(DType::f32, {B, S, D}, 0.5);
  // example from engine/executor.hpp
  Executor ex(Backend::tbb, 2);
  ex.forward(g, {{x.id, batch}}, {loss.id}, {.training = true, .step = 7});
  ex.backward(loss.id);      // parameter gradients are added to the store
  double l = ex.value(loss.id).item();
  // end of example
  CHECK(std::isfinite(l));
  CHECK(params.at("encoder.weight").grad.at({0, 0}) == doctest::Approx(0.5 / D_out));
  const Feeds feeds = {{x.id, batch}};
  // example from engine/executor.hpp
  ex.forward(g, feeds, {loss.id}, {.training = true, .seed = 1, .step = 7});
  // end of example
  CHECK(ex.value(loss.id).item() == l);
}

TEST_CASE("the registry, gradcheck and xview examples run") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3}});
  // example from engine/registry.hpp
  OpPtr sm = default_registry().create("softmax", {{"axis", std::int64_t{-1}}});
  Expr y = apply("softmax", {x}, {{"axis", std::int64_t{-1}}});
  // end of example
  CHECK(sm->name() == "softmax");
  CHECK(y.shape() == Shape{2, 3});

  // example from engine/gradcheck.hpp
  auto r = gradcheck([](Graph&, const std::vector<Expr>& x) { return matmul(x[0], x[1]); },
                     {{.shape = {2, 3}}, {.shape = {3, 4}}});
  CHECK_MESSAGE(r.ok, r.report);
  // end of example

  // example from engine/xview.hpp
  Tensor t = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto v = xview<float>(t);            // an xt::xarray_adaptor over t's storage
  v(1, 2) = 7;                          // writes t
  xt::xarray<float> s = xt::sum(v, {1});  // {6, 16}
  // end of example
  CHECK(t.at({1, 2}) == 7.0);
  CHECK(s(0) == 6.0f);
  CHECK(s(1) == 16.0f);
}
