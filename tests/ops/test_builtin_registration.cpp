// Built-in ops by name with no setup call. This binary has its own main and
// never calls ensure_builtin_ops(): a program that links the ops library
// (and, as every model does, uses a builder from it, so that the linker's
// --as-needed keeps the library) finds the built-ins in default_registry().
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/registry.hpp"
#include "ops/elementwise.hpp"

using namespace attograd;

TEST_CASE("apply(\"softmax\") works without ensure_builtin_ops()") {
  Graph g;
  Expr x = input(g, "x", {DType::f64, {1, 2}});
  Expr y = apply("softmax", {relu(x)}, {{"axis", std::int64_t{-1}}});  // (1, 2)
  Executor ex(Backend::sequential);
  ex.forward(g, {{x.id, Tensor::from<double>({1, 2}, {0.0, std::log(3.0)})}}, {y.id});
  CHECK(ex.value(y.id).data<double>()[0] == doctest::Approx(0.25));
  CHECK(ex.value(y.id).data<double>()[1] == doctest::Approx(0.75));
}

TEST_CASE("the default registry lists the built-ins as builtin") {
  const OpRegistry& r = default_registry();
  for (const std::string name : {"add", "matmul", "linear", "layer_norm", "cross_entropy", "dropout"}) {
    INFO(name);
    REQUIRE(r.contains(name));
    CHECK(r.schema(name).origin == "builtin");
  }
}
