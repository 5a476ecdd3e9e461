// Every built-in op that declares sample inputs can be created by name from
// the registry, and its gradients on those samples match finite differences
// (what the plugin loader demands of plugins).
#include <doctest/doctest.h>

#include "engine/registry.hpp"
#include "ops/builtin.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

TEST_CASE("registered ops pass gradcheck on their declared samples") {
  OpRegistry registry;
  register_builtin_ops(registry);
  int sampled = 0;
  for (const std::string& name : registry.names())
    for (const OpSample& sample : registry.schema(name).samples) {
      INFO(name);
      check_gradcheck([&](Graph&, const std::vector<Expr>& x) { return apply(name, x, sample.attributes, registry); },
                      sample.inputs);
      ++sampled;
    }
  CHECK(sampled >= 7);  // matmul, softmax, log_softmax, masked_softmax, masked_fill, concat, slice
}

TEST_CASE("ops created by name behave like their builder functions") {
  OpRegistry registry;
  register_builtin_ops(registry);
  const auto x = fixed_input({1, 3}, {0, 0, 0});
  check_close(run_forward(
                  [&](Graph&, const std::vector<Expr>& in) {
                    return apply("softmax", in, {{"axis", std::int64_t{-1}}}, registry);
                  },
                  {x}),
              {1. / 3, 1. / 3, 1. / 3});
  check_close(run_forward(
                  [&](Graph&, const std::vector<Expr>& in) {
                    return apply("matmul", in, {{"transpose_b", std::int64_t{1}}}, registry);
                  },
                  {fixed_input({1, 2}, {1, 2}), fixed_input({1, 2}, {3, 4})}),
              {11});
  check_close(run_forward([&](Graph&, const std::vector<Expr>& in) { return apply("linear", in, {}, registry); },
                          {fixed_input({1, 2}, {1, 2}), fixed_input({1, 2}, {3, 4}), fixed_input({1}, {-1})}),
              {10});
}
