#include "engine/gradcheck.hpp"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "engine/rng.hpp"

namespace attograd {
namespace {

Tensor random_tensor(const Shape& shape, double low, double high, std::uint64_t key) {
  Tensor t = Tensor::empty(DType::f64, shape);
  initialize(t, Init::uniform(low, high), key);
  return t;
}

double weighted_sum(const Tensor& out, const Tensor& w) {
  const double* o = out.data<double>();
  const double* k = w.data<double>();
  double s = 0;
  for (std::int64_t i = 0; i < out.numel(); ++i) s += o[i] * k[i];
  return s;
}

}  // namespace

GradcheckResult gradcheck(const GraphBuilder& build, const std::vector<GradcheckInput>& specs,
                          const GradcheckOptions& options) {
  ParameterStore store(options.seed);
  Graph g(&store, DType::f64);
  std::vector<Expr> leaves;
  Feeds feeds;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const GradcheckInput& spec = specs[i];
    const bool diff = spec.differentiable && is_floating(spec.dtype);
    Expr e = input(g, fmt::format("x{}", i), {spec.dtype, spec.shape}, diff);
    Tensor v = spec.value.defined() ? spec.value.to(spec.dtype)
                                    : random_tensor(spec.shape, spec.low, spec.high, mix_keys(options.seed, i)).to(spec.dtype);
    feeds[e.id] = v;
    leaves.push_back(e);
  }
  const Expr out = build(g, leaves);
  if (out.dtype() != DType::f64)
    return {false, 0, 0, fmt::format("the built graph's output is {}, expected f64", dtype_name(out.dtype()))};
  const Tensor weights = random_tensor(out.shape(), -1, 1, mix_keys(options.seed, 0xC0FFEE));

  Executor ex(Backend::sequential);
  RunOptions run;
  run.training = options.training;
  run.seed = options.seed;
  auto loss_now = [&] {
    ex.forward(g, feeds, {out.id}, run);
    return weighted_sum(ex.value(out.id), weights);
  };

  // Analytic gradients.
  store.zero_grad();
  ex.forward(g, feeds, {out.id}, run);
  ex.backward(out.id, weights);
  struct Target {
    std::string name;
    Tensor value;     // perturbed in place (fed tensors and parameters alias it)
    Tensor analytic;
  };
  std::vector<Target> targets;
  for (std::size_t i = 0; i < specs.size(); ++i)
    if (g.node(leaves[i].id).requires_grad) {
      Tensor analytic = Tensor::zeros(DType::f64, specs[i].shape);
      try {
        analytic = ex.grad(leaves[i].id).clone();
      } catch (const Error&) {
        // the input does not reach the output: its gradient is zero
      }
      targets.push_back({fmt::format("input {}", i), feeds[leaves[i].id], analytic});
    }
  for (Parameter& p : store.all()) targets.push_back({p.name, p.value, p.grad.clone()});

  GradcheckResult result;
  int failures = 0;
  std::string worst;
  for (Target& t : targets) {
    double* x = t.value.data<double>();
    const double* a = t.analytic.data<double>();
    for (std::int64_t k = 0; k < t.value.numel(); ++k) {
      const double saved = x[k];
      x[k] = saved + options.eps;
      const double up = loss_now();
      x[k] = saved - options.eps;
      const double down = loss_now();
      x[k] = saved;
      const double numerical = (up - down) / (2 * options.eps);
      const double err = std::abs(a[k] - numerical);
      ++result.checked;
      const std::string line =
          fmt::format("{} element {}: analytic {:.10g}, numerical {:.10g}, error {:.3g}", t.name, k, a[k], numerical, err);
      if (err > result.max_abs_error || !std::isfinite(err)) {
        result.max_abs_error = std::isfinite(err) ? err : INFINITY;
        worst = line;
      }
      if (!(err <= options.atol + options.rtol * std::abs(numerical))) {
        result.ok = false;
        if (failures++ < 10) result.report += "FAIL " + line + "\n";
      }
    }
  }
  result.report += fmt::format("checked {} elements; worst: {}", result.checked, worst.empty() ? "none" : worst);
  return result;
}

}  // namespace attograd
