#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "ops/activations.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "tests/support/executor_graphs.hpp"
#include "tests/support/op_check.hpp"

using namespace attograd;
using attograd::testing::check_close;
using attograd::testing::FailOnValue;
using attograd::testing::random_graph;
using attograd::testing::run_random;
using attograd::testing::RunResult;

namespace {

// out = in * in, computed in parallel_for blocks of 256 elements.
class SquareInBlocks final : public Op {
 public:
  std::string name() const override { return "square_in_blocks"; }
  TensorType infer(std::span<const TensorType> in) const override { return in[0]; }
  Tensor forward(OpContext& c) const override {
    const Tensor& x = c.input(0);
    Tensor out = Tensor::empty(x.dtype(), x.shape());
    const float* in = x.data<float>();
    float* o = out.data<float>();
    c.parallel_for(x.numel(), 256, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) o[i] = in[i] * in[i];
    });
    return out;
  }
  std::vector<Tensor> backward(OpContext& c) const override { return {c.grad_output()}; }
};

// The error names node `node` by id, op, scope label and phase.
void check_names_node(const NodeError& e, NodeId node, const std::string& op, const std::string& scope,
                      const std::string& phase) {
  CHECK(e.node == node);
  CHECK(e.op == op);
  CHECK(e.scope == scope);
  CHECK(e.phase == phase);
}

}  // namespace

TEST_CASE("sequential, TBB and std::thread executors agree bit for bit on random graphs") {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    const RunResult oracle = run_random(seed, Backend::sequential, 1);
    REQUIRE(std::isfinite(oracle.loss.item()));
    for (auto [backend, threads] : {std::pair{Backend::tbb, 1}, {Backend::tbb, 2}, {Backend::tbb, 4},
                                   {Backend::threads, 2}, {Backend::threads, 4}}) {
      INFO("seed " << seed << ", threads " << threads);
      const RunResult r = run_random(seed, backend, threads);
      CHECK(r.loss.bit_equal(oracle.loss));
      CHECK(r.input_grad.bit_equal(oracle.input_grad));
      REQUIRE(r.param_grads.size() == oracle.param_grads.size());
      for (std::size_t i = 0; i < r.param_grads.size(); ++i) CHECK(r.param_grads[i].bit_equal(oracle.param_grads[i]));
    }
  }
}

TEST_CASE("gradients of a random graph match finite differences") {
  GradcheckOptions o;
  o.rtol = 1e-4;
  const auto r = gradcheck([](Graph& g, const std::vector<Expr>& x) {
    return random_graph(g, x[0], 9, 40);
  }, {{.shape = {4, 8}}}, o);
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("a node used several times receives the sum of its gradients") {
  // y = x*x + x  ->  dy/dx = 2x + 1
  Graph g;
  Expr x = input(g, "x", {DType::f64, {3}}, true);
  Expr y = sum(x * x + x);
  Executor ex(Backend::tbb, 2);
  ex.forward(g, {{x.id, Tensor::from<double>({3}, {1, -2, 0.5})}}, {y.id});
  ex.backward(y.id);
  check_close(ex.grad(x.id), {3, -3, 2});
  check_close(ex.value(y.id), {1 + 1 + 4 - 2 + 0.25 + 0.5});
}

TEST_CASE("only nodes between gradient-requiring leaves and the loss run backward") {
  struct Counter final : ExecutionObserver {
    std::vector<NodeId> backward;
    std::mutex m;
    void on_node(const NodeEvent& e) override {
      std::lock_guard lock(m);
      if (e.phase == Phase::backward) backward.push_back(e.node);
    }
  } counter;
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2}}, true);
  Expr c = input(g, "c", {DType::f32, {2}});  // no gradient wanted
  Expr cc = exp(c);                             // depends only on c
  Expr m = x * cc;
  Expr y = sum(m);
  Executor ex(Backend::sequential);
  RunOptions o;
  o.observer = &counter;
  ex.forward(g, {{x.id, Tensor::full(DType::f32, {2}, 1)}, {c.id, Tensor::full(DType::f32, {2}, 0)}}, {y.id}, o);
  ex.backward(y.id);
  std::sort(counter.backward.begin(), counter.backward.end());
  CHECK(counter.backward == std::vector<NodeId>{x.id, m.id, y.id});
}

TEST_CASE("an exception inside a kernel names the node, and the executor runs again afterwards") {
  // x + x is exact in float: feeding 6.5 hands FailOnValue exactly 13, so it throws.
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2}});
  Expr failing;
  {
    auto s = g.scope("block");
    failing = g.add(std::make_shared<FailOnValue>(), {x + x});
  }
  Expr z = sum(relu(failing));
  for (auto [backend, threads] : {std::pair{Backend::tbb, 2}, {Backend::threads, 2}, {Backend::sequential, 1}}) {
    INFO("backend " << static_cast<int>(backend) << ", threads " << threads);
    Executor ex(backend, threads);
    bool caught = false;
    try {
      ex.forward(g, {{x.id, Tensor::from<float>({2}, {6.5f, 0})}}, {z.id});
    } catch (const NodeError& e) {
      caught = true;
      const std::string m = e.what();
      CHECK_MESSAGE(m.find("unlucky input") != std::string::npos, m);
      CHECK_MESSAGE(m.find("'block.fail_on_value'") != std::string::npos, m);
      check_names_node(e, failing.id, "fail_on_value", "block.fail_on_value", "forward");
    }
    REQUIRE_MESSAGE(caught, "the kernel's exception did not reach the caller as a NodeError");
    // The same executor runs the same graph again with a harmless input.
    ex.forward(g, {{x.id, Tensor::from<float>({2}, {1, 2})}}, {z.id});
    CHECK(ex.value(z.id).item() == doctest::Approx(2.0 + 4.0));
  }
}

TEST_CASE("feeding a wrong shape or forgetting an input is a clear error") {
  Graph g;
  Expr x = input(g, "tokens", {DType::f32, {2, 3}});
  Expr y = relu(x);
  Executor ex(Backend::sequential);
  try {
    ex.forward(g, {{x.id, Tensor::zeros(DType::f32, {3, 2})}}, {y.id});
    FAIL("must throw");
  } catch (const NodeError& e) {
    CHECK(std::string(e.what()).find("'tokens' expects f32(2, 3), was fed f32(3, 2)") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(ex.forward(g, {}, {y.id}), doctest::Contains("no value was fed"), NodeError);
}

RunOptions numerics_checked() {
  RunOptions o;
  o.check_numerics = true;
  return o;
}

// The NumericsError thrown by `run`, which must throw one.
template <class Run>
NumericsError numerics_error_of(Run run) {
  try {
    run();
  } catch (const NumericsError& e) {
    return e;
  }
  FAIL("the numerics check did not throw");
  throw std::logic_error("unreachable");
}

TEST_CASE("the numerics check names the first node producing NaN in forward, with its inputs' statistics") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {3}}, true);
  Expr y;
  {
    auto s = g.scope("bad");
    y = log(x);  // log(-1) = NaN
  }
  Expr z = sum(exp(y));
  for (auto [backend, threads] : {std::pair{Backend::tbb, 2}, {Backend::sequential, 1}}) {
    INFO("backend " << static_cast<int>(backend));
    Executor ex(backend, threads);
    const RunOptions o = numerics_checked();
    const NumericsError e = numerics_error_of(
        [&] { ex.forward(g, {{x.id, Tensor::from<float>({3}, {1, -1, 3})}}, {z.id}, o); });
    const std::string m = e.what();
    INFO(m);
    check_names_node(e, y.id, "log", "bad.log", "forward");
    CHECK(m.rfind("[numerics] forward of node 1 'bad.log' (op log) has NaN or Inf in its output f32(3,)", 0) == 0);
    CHECK(m.find("output f32(3,) finite min 0 max 1.09861 mean 0.549306, 1 NaN, 0 Inf") != std::string::npos);
    CHECK(m.find("\n  input 0, node 0 'input' (x): f32(3,) finite min -1 max 3 mean 1, 0 NaN, 0 Inf") != std::string::npos);
    CHECK(m.find("incoming gradient") == std::string::npos);  // forward has none
  }
}

TEST_CASE("the numerics check names the node whose backward produces Inf, with its inputs and incoming gradient") {
  // d sqrt(u) / du = 1 / (2 sqrt u) is Inf at u = 0, though sqrt(0) = 0 is finite.
  // sqrt's backward reads its output, not u: u is kept for the report only.
  Graph g;
  Expr x = input(g, "x", {DType::f32, {2}}, true);
  Expr root;
  {
    auto s = g.scope("norm");
    root = sqrt(scale(x, 2.0));
  }
  Expr z = sum(scale(root, 3.0));
  for (auto [backend, threads] : {std::pair{Backend::tbb, 2}, {Backend::sequential, 1}}) {
    INFO("backend " << static_cast<int>(backend));
    Executor ex(backend, threads);
    const RunOptions o = numerics_checked();
    ex.forward(g, {{x.id, Tensor::from<float>({2}, {0, 2})}}, {z.id}, o);  // finite: no throw
    const NumericsError e = numerics_error_of([&] { ex.backward(z.id); });
    const std::string m = e.what();
    INFO(m);
    check_names_node(e, root.id, "sqrt", "norm.sqrt", "backward");
    CHECK(m.rfind("[numerics] backward of node 2 'norm.sqrt' (op sqrt) has NaN or Inf in its gradient for input 0 "
                  "f32(2,) finite min 0.75 max 0.75 mean 0.75, 0 NaN, 1 Inf", 0) == 0);
    CHECK(m.find("\n  input 0, node 1 'norm.scale' (s=2): f32(2,) finite min 0 max 4 mean 2, 0 NaN, 0 Inf") !=
          std::string::npos);
    CHECK(m.find("\n  incoming gradient: f32(2,) finite min 3 max 3 mean 3, 0 NaN, 0 Inf") != std::string::npos);
  }
}

TEST_CASE("without the numerics check a NaN passes through silently") {
  Graph g;
  Expr x = input(g, "x", {DType::f32, {1}});
  Expr y = sum(log(x));
  Executor ex(Backend::sequential);
  ex.forward(g, {{x.id, Tensor::full(DType::f32, {1}, -1)}}, {y.id});
  CHECK(std::isnan(ex.value(y.id).item()));
}

TEST_CASE("broadcast gradients are summed back to the input shape") {
  // y = sum(a (2,3) + b (3,)) -> db = 2 per element; c (2,1): dc = 3.
  Graph g;
  Expr a = input(g, "a", {DType::f64, {2, 3}}, true);
  Expr b = input(g, "b", {DType::f64, {3}}, true);
  Expr c = input(g, "c", {DType::f64, {2, 1}}, true);
  Expr y = sum(a + b + c);
  Executor ex(Backend::sequential);
  ex.forward(g, {{a.id, Tensor::zeros(DType::f64, {2, 3})}, {b.id, Tensor::zeros(DType::f64, {3})},
                 {c.id, Tensor::zeros(DType::f64, {2, 1})}}, {y.id});
  ex.backward(y.id);
  check_close(ex.grad(b.id), {2, 2, 2});
  check_close(ex.grad(c.id), {3, 3});
}

TEST_CASE("every backend flushes denormal results to zero, on every thread and in every parallel_for block") {
  // (1e-20)^2 = 1e-40 is below float's smallest normal (1.2e-38): 0 with flush-to-zero.
  Graph g;
  Expr x = input(g, "x", {DType::f32, {64 * 256}});
  std::vector<NodeId> squares;
  for (int i = 0; i < 8; ++i) squares.push_back(g.add(std::make_shared<SquareInBlocks>(), {x}).id);
  const Tensor tiny = Tensor::full(DType::f32, {64 * 256}, 1e-20);
  for (auto [backend, threads] : {std::pair{Backend::sequential, 1}, {Backend::tbb, 1}, {Backend::tbb, 2},
                                 {Backend::tbb, 4}, {Backend::threads, 4}}) {
    INFO("backend " << static_cast<int>(backend) << ", threads " << threads);
    Executor ex(backend, threads);
    for (int run = 0; run < 3; ++run) {
      ex.forward(g, {{x.id, tiny}}, squares);
      for (NodeId n : squares) CHECK(ex.value(n).to_vector() == std::vector<double>(64 * 256, 0.0));
    }
  }
}
