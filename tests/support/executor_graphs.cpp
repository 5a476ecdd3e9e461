#include "tests/support/executor_graphs.hpp"

#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "ops/shape_ops.hpp"

namespace attograd::testing {

Expr random_graph(Graph& g, Expr x, std::uint32_t seed, int nodes) {
  std::mt19937 rng(seed);
  std::vector<Expr> pool{x};
  for (int i = 0; i < 6; ++i) {
    auto s = g.scope(fmt::format("p{}", i));
    pool.push_back(parameter(g, "row", {8}, Init::uniform(0.5, 1.5)));
    pool.push_back(parameter(g, "col", {4, 1}, Init::uniform(0.5, 1.5)));
  }
  auto pick = [&] { return pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)]; };
  auto pick_full = [&] {
    for (;;) {
      Expr e = pick();
      if (e.shape() == Shape{4, 8}) return e;
    }
  };
  for (int i = 0; i < nodes; ++i) {
    Expr a = pick_full(), b = pick();
    Expr r;
    switch (rng() % 8) {
      case 0: r = a + b; break;
      case 1: r = a - b; break;
      case 2: r = a * b; break;
      case 3: r = a / (b * b + scale(b, 0.0) + pool[1]); break;  // denominators stay >= 0.25
      case 4: r = scale(relu(a), 0.5) + exp(scale(b, 0.1)); break;
      case 5: r = a + mean(b, {0}, true); break;
      case 6: r = reshape(transpose(reshape(a, {2, 16}), 0, 1), {4, 8}); break;
      default: r = log(a * a + pool[1]); break;
    }
    pool.push_back(r);
  }
  // Sum the last nodes too, so that every node reaches the loss.
  Expr total = sum(pool.back());
  for (std::size_t i = pool.size() - 30; i < pool.size() - 1; ++i) total = total + scale(sum(pool[i]), 1e-3);
  return total;
}

RunResult run_random(std::uint32_t seed, Backend backend, int threads, int nodes) {
  ParameterStore store(seed);
  Graph g(&store);
  Expr loss = random_graph(g, input(g, "x", {DType::f32, {4, 8}}, true), seed, nodes);
  Tensor x = Tensor::empty(DType::f32, {4, 8});
  initialize(x, Init::uniform(-1, 1), seed);
  Executor ex(backend, threads);
  ex.forward(g, {{0, x}}, {loss.id});
  ex.backward(loss.id);
  RunResult r{ex.value(loss.id).clone(), ex.grad(0).clone(), {}};
  for (const auto& p : store.all()) r.param_grads.push_back(p.grad.clone());
  return r;
}

bool bit_equal(const RunResult& a, const RunResult& b) {
  if (!a.loss.bit_equal(b.loss) || !a.input_grad.bit_equal(b.input_grad)) return false;
  if (a.param_grads.size() != b.param_grads.size()) return false;
  for (std::size_t i = 0; i < a.param_grads.size(); ++i)
    if (!a.param_grads[i].bit_equal(b.param_grads[i])) return false;
  return true;
}

Tensor FailOnValue::forward(OpContext& c) const {
  if (c.input(0).to_vector()[0] == 13.0) throw std::runtime_error("unlucky input");
  return c.input(0).clone();
}

std::vector<Tensor> FailOnValue::backward(OpContext& c) const { return {c.grad_output()}; }

}  // namespace attograd::testing
