// The op harness (after ggml's test-backend-ops): every op in the registry is
// checked on the samples and shape-error cases declared next to its
// registration (engine/op_samples.hpp). For every sample:
//   - gradcheck in double (engine/gradcheck.hpp) where an input wants a gradient;
//   - forward and backward on the sequential executor, TBB with 1, 2 and 4
//     threads and the std::thread runner, equal bit for bit;
// and for every shape-error case, infer() throws a ShapeError "[name] ...".
// An op that declares no samples or no shape-error case fails here, so a new
// op is tested the moment it is registered. Per-op test files keep what only
// they can say: hand-computed values, edge cases, messages, large shapes.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/builtin.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using namespace attograd::testing;

namespace {

// A fresh registry holding the built-in ops.
struct Builtins {
  Builtins() { register_builtin_ops(registry); }
  OpRegistry registry;
};

// The sample's op alone on its inputs, created as the plugin loader does.
GraphBuilder single_op(const OpSchema& op, const OpSample& sample) {
  return [&op, &sample](Graph& g, const std::vector<Expr>& x) { return g.add(op.factory(sample.attributes), x); };
}

std::string name_sample(const OpSchema& op, std::size_t i) {
  return fmt::format("op '{}' sample {} ({})", op.name, i, samples::describe(op.samples[i]));
}

// True if gradcheck has something to compare: a floating input that wants a gradient.
bool wants_gradient(const OpSample& sample) {
  for (const GradcheckInput& in : sample.inputs)
    if (is_floating(in.dtype) && in.differentiable) return true;
  return false;
}

// True if the op itself says a gradient flows to a floating input of some sample.
bool has_gradient(const OpSchema& op) {
  for (const OpSample& sample : op.samples) {
    const OpPtr created = op.factory(sample.attributes);
    for (std::size_t i = 0; i < sample.inputs.size(); ++i)
      if (is_floating(sample.inputs[i].dtype) && created->differentiable(i)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE_FIXTURE(Builtins, "every registered op declares samples and shape-error cases") {
  CHECK(registry.names().size() >= 33);
  for (const std::string& name : registry.names()) {
    const OpSchema& op = registry.schema(name);
    CHECK_MESSAGE(!op.samples.empty(), fmt::format("op '{}' declares no samples", name));
    CHECK_MESSAGE(!op.shape_errors.empty(), fmt::format("op '{}' declares no shape-error case", name));
  }
}

TEST_CASE_FIXTURE(Builtins, "every registered op's gradients match finite differences on its samples") {
  for (const std::string& name : registry.names()) {
    const OpSchema& op = registry.schema(name);
    int checked = 0;
    for (std::size_t i = 0; i < op.samples.size(); ++i) {
      const OpSample& sample = op.samples[i];
      if (!wants_gradient(sample)) continue;
      INFO(name_sample(op, i));
      GradcheckOptions options;
      options.training = sample.training;
      try {
        const GradcheckResult r = gradcheck(single_op(op, sample), sample.inputs, options);
        CHECK_MESSAGE(r.ok, r.report);
        checked += r.checked;
      } catch (const std::exception& e) {
        FAIL_CHECK("threw: " << e.what());
      }
    }
    if (has_gradient(op))
      CHECK_MESSAGE(checked > 0, fmt::format("op '{}' has gradients but no sample gradchecks an element", name));
  }
}

TEST_CASE_FIXTURE(Builtins, "every registered op gives the same bits on every executor, forward and backward") {
  for (const std::string& name : registry.names()) {
    const OpSchema& op = registry.schema(name);
    for (std::size_t i = 0; i < op.samples.size(); ++i) {
      INFO(name_sample(op, i));
      try {
        check_backends_agree(single_op(op, op.samples[i]), op.samples[i].inputs, op.samples[i].training);
      } catch (const std::exception& e) {
        FAIL_CHECK("threw: " << e.what());
      }
    }
  }
}

TEST_CASE_FIXTURE(Builtins, "every registered op refuses its shape-error cases with a ShapeError that names it") {
  for (const std::string& name : registry.names()) {
    const OpSchema& op = registry.schema(name);
    for (std::size_t i = 0; i < op.shape_errors.size(); ++i) {
      const OpShapeErrorSample& bad = op.shape_errors[i];
      std::string inputs;
      for (const TensorType& t : bad.inputs) inputs += (inputs.empty() ? "" : ", ") + to_string(t);
      INFO(fmt::format("op '{}' shape-error case {} (inputs {})", name, i, inputs));
      try {
        const TensorType out = op.factory(bad.attributes)->infer(bad.inputs);
        FAIL_CHECK("infer accepted it and gave " << to_string(out));
      } catch (const ShapeError& e) {
        CHECK_MESSAGE(std::string(e.what()).starts_with("[" + name + "] "), "the message is: " << e.what());
      } catch (const std::exception& e) {
        FAIL_CHECK("threw another error than ShapeError: " << e.what());
      }
    }
  }
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
