#include "tests/support/op_check.hpp"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/rng.hpp"

namespace attograd::testing {

Tensor make_value(const GradcheckInput& spec, DType float_dtype, std::uint64_t seed, std::size_t index) {
  const DType dtype = is_floating(spec.dtype) ? float_dtype : spec.dtype;
  if (spec.value.defined()) return spec.value.to(dtype);
  Tensor t = Tensor::empty(DType::f64, spec.shape);
  initialize(t, Init::uniform(spec.low, spec.high), mix_keys(seed, index));
  if (!is_floating(dtype))
    for (double& v : t.span<double>()) v = std::floor(v);
  return t.to(dtype);
}

std::vector<Tensor> run_all(const GraphBuilder& build, const std::vector<GradcheckInput>& inputs, DType dtype,
                            Backend backend, int threads, bool training, Precision precision) {
  ParameterStore store(7);
  Graph g(&store, dtype);
  std::vector<Expr> leaves;
  Feeds feeds;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const bool diff = inputs[i].differentiable && is_floating(inputs[i].dtype);
    Tensor v = make_value(inputs[i], dtype, 11, i);
    Expr e = input(g, fmt::format("x{}", i), {v.dtype(), v.shape()}, diff);
    feeds[e.id] = v;
    leaves.push_back(e);
  }
  Expr out = build(g, leaves);
  Executor ex(backend, threads);
  RunOptions run;
  run.training = training;
  run.seed = 3;
  run.step = 5;
  run.precision = precision;
  ex.forward(g, feeds, {out.id}, run);
  std::vector<Tensor> results{ex.value(out.id).clone()};
  if (!is_floating(out.dtype())) return results;
  Tensor w = Tensor::empty(DType::f64, out.shape());
  initialize(w, Init::uniform(-1, 1), 99);
  ex.backward(out.id, w.to(out.dtype()));
  for (std::size_t i = 0; i < leaves.size(); ++i)
    if (g.node(leaves[i].id).requires_grad) {
      try {
        results.push_back(ex.grad(leaves[i].id).clone());
      } catch (const Error&) {
        results.emplace_back();  // input does not reach the output
      }
    }
  for (const Parameter& p : store.all()) results.push_back(p.grad.clone());
  return results;
}

Tensor run_forward(const GraphBuilder& build, const std::vector<GradcheckInput>& inputs, DType dtype, bool training) {
  ParameterStore store(7);
  Graph g(&store, dtype);
  std::vector<Expr> leaves;
  Feeds feeds;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Tensor v = make_value(inputs[i], dtype, 11, i);
    Expr e = input(g, fmt::format("x{}", i), {v.dtype(), v.shape()});
    feeds[e.id] = v;
    leaves.push_back(e);
  }
  Expr out = build(g, leaves);
  Executor ex(Backend::sequential);
  RunOptions run;
  run.training = training;
  run.seed = 3;
  run.step = 5;
  ex.forward(g, feeds, {out.id}, run);
  return ex.value(out.id);
}

void check_gradcheck(const GraphBuilder& build, const std::vector<GradcheckInput>& inputs,
                     const GradcheckOptions& options) {
  const GradcheckResult r = gradcheck(build, inputs, options);
  CHECK_MESSAGE(r.ok, r.report);
  CHECK(r.checked > 0);
}

void check_backends_agree(const GraphBuilder& build, const std::vector<GradcheckInput>& inputs, bool training,
                          Precision precision) {
  const auto oracle = run_all(build, inputs, DType::f32, Backend::sequential, 1, training, precision);
  struct Config {
    Backend backend;
    int threads;
  };
  for (Config c : {Config{Backend::tbb, 1}, Config{Backend::tbb, 2}, Config{Backend::tbb, 4},
                   Config{Backend::threads, 2}}) {
    const auto got = run_all(build, inputs, DType::f32, c.backend, c.threads, training, precision);
    REQUIRE(got.size() == oracle.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      CHECK_MESSAGE(got[i].bit_equal(oracle[i]),
                    fmt::format("result {} differs from the sequential executor ({} threads)", i, c.threads));
  }
}

void check_close(const Tensor& actual, const std::vector<double>& expected, double tol) {
  const std::vector<double> got = actual.to_vector();
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    CHECK_MESSAGE(std::abs(got[i] - expected[i]) <= tol,
                  fmt::format("element {}: got {:.9g}, expected {:.9g}", i, got[i], expected[i]));
}

}  // namespace attograd::testing
