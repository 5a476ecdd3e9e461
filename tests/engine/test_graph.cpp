#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <string>

#include "engine/error.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"

using namespace attograd;

TEST_CASE("node labels are built from the builder's scopes") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2, 3}});
  Expr y;
  {
    auto s1 = g.scope("encoder");
    auto s2 = g.scope("layers");
    auto s3 = g.scope("0");
    y = relu(x);
    Expr z = relu(y);
    CHECK(z.node().label == "encoder.layers.0.relu_1");
  }
  CHECK(y.node().label == "encoder.layers.0.relu");
  CHECK(relu(x).node().label == "relu");
}

TEST_CASE("an indexed scope adds two names and removes both when it ends") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2}});
  {
    auto enc = g.scope("encoder");
    {
      auto layer = g.scope("layers", 3);
      CHECK(g.scope_path() == "encoder.layers.3");
      CHECK(relu(x).node().label == "encoder.layers.3.relu");
    }
    CHECK(g.scope_path() == "encoder");
  }
  CHECK(g.scope_path() == "");
  CHECK_THROWS_AS(static_cast<void>(g.scope("layers", -1)), Error);
  CHECK(g.scope_path() == "");  // a refused scope leaves nothing behind
}

TEST_CASE("a default Expr is not defined; one a builder returns is") {
  Graph g;
  CHECK_FALSE(Expr{}.defined());
  CHECK(input(g, "x", {DType::f32, {2}}).defined());
}

TEST_CASE("a shape error names the op, the node's label and both shapes") {
  Graph g;
  auto s = g.scope("decoder");
  Expr a = input(g, "a", {DType::f32, {2, 3}});
  Expr b = input(g, "b", {DType::f32, {4, 3}});
  try {
    add(a, b);
    FAIL("add of (2, 3) and (4, 3) must throw");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("[add]") == 0);
    CHECK(m.find("decoder.add") != std::string::npos);
    CHECK(m.find("(2, 3)") != std::string::npos);
    CHECK(m.find("(4, 3)") != std::string::npos);
  }
  CHECK(g.size() == 2);  // nothing was appended
}

TEST_CASE("parameters are named by scope and shared within a graph") {
  ParameterStore store(1);
  Graph g(&store);
  auto s = g.scope("q_proj");
  Expr w1 = parameter(g, "weight", {4, 3}, Init::xavier_uniform());
  Expr w2 = parameter(g, "weight", {4, 3}, Init::xavier_uniform());
  CHECK(w1.id == w2.id);
  CHECK(store.contains("q_proj.weight"));
  CHECK_THROWS_AS(parameter(g, "weight", {3, 4}, Init::zeros()), ShapeError);
}

TEST_CASE("initial parameter values depend on the seed and name, not on creation order") {
  ParameterStore a(5), b(5), c(6);
  a.get_or_create("x", DType::f32, {8}, Init::normal(0, 1));
  a.get_or_create("y", DType::f32, {8}, Init::normal(0, 1));
  b.get_or_create("y", DType::f32, {8}, Init::normal(0, 1));
  b.get_or_create("x", DType::f32, {8}, Init::normal(0, 1));
  c.get_or_create("x", DType::f32, {8}, Init::normal(0, 1));
  CHECK(a.at("x").value.bit_equal(b.at("x").value));
  CHECK(a.at("y").value.bit_equal(b.at("y").value));
  CHECK_FALSE(a.at("x").value.bit_equal(c.at("x").value));
  CHECK_FALSE(a.at("x").value.bit_equal(a.at("y").value));
}

TEST_CASE("xavier uniform stays inside its bound and has roughly the right spread") {
  ParameterStore store(3);
  const Tensor& w = store.get_or_create("w", DType::f64, {200, 300}, Init::xavier_uniform()).value;
  const double bound = std::sqrt(6.0 / 500.0);
  double sum_sq = 0;
  for (double v : w.span<double>()) {
    CHECK(std::abs(v) <= bound);
    sum_sq += v * v;
  }
  const double var = sum_sq / static_cast<double>(w.numel());
  CHECK(var == doctest::Approx(bound * bound / 3).epsilon(0.05));
}
