// The executor on the std::thread backend, with nothing that reaches oneTBB:
// the binary that scripts/test.sh --tsan runs under ThreadSanitizer (Debian's
// TBB is not built with TSan, which then misreports its internals). Every
// concurrent path here is attograd's own: the thread pool, the dependency
// counters, the gradient slots, leaf gradients added into the parameter
// store, cancellation, observer callbacks, and optimizer blocks run on
// std::threads. Kernels' parallel_for runs serially on this backend.
//
// It has its own main (tests/support/main.cpp configures TBB) and runs in
// every build as well: suite "tsan" only selects it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "train/optimizer.hpp"
#include "engine/parameters.hpp"
#include "profile/profiler.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "tests/support/executor_graphs.hpp"

using namespace attograd;
using attograd::testing::FailOnValue;
using attograd::testing::random_graph;
using attograd::testing::run_random;
using attograd::testing::RunResult;

namespace {

// Runs the blocks on `threads` std::threads at once, block k on thread k % threads.
class ThreadParallel final : public Parallel {
 public:
  explicit ThreadParallel(int threads) : threads_(threads) {}
  void parallel_for(std::int64_t n, std::int64_t grain, const BlockBody& body) const override {
    const std::int64_t blocks = block_count(n, grain);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads_; ++t)
      pool.emplace_back([&, t] {
        for (std::int64_t k = t; k < blocks; k += threads_) body(k * grain, std::min(n, (k + 1) * grain));
      });
    for (auto& thread : pool) thread.join();
  }

 private:
  int threads_;
};

// A training loop: forward + backward of a random graph with parameters, then
// an optimizer step (with gradient clipping) through `parallel`.
std::vector<Tensor> train(Backend backend, int threads, const Parallel& parallel, const char* optimizer) {
  ParameterStore store(11);
  Graph g(&store);
  Expr loss = random_graph(g, input(g, "x", {DType::f32, {4, 8}}), 11, 120);
  auto opt = make_optimizer(optimizer);
  Executor ex(backend, threads);
  for (int step = 0; step < 3; ++step) {
    Tensor x = Tensor::empty(DType::f32, {4, 8});
    initialize(x, Init::uniform(-1, 1), static_cast<std::uint64_t>(step));
    store.zero_grad();
    ex.forward(g, {{0, x}}, {loss.id});
    ex.backward(loss.id);
    clip_grad_norm(store, 0.5, parallel);
    opt->step(store, 1e-2, parallel);
  }
  std::vector<Tensor> values;
  for (const auto& p : store.all()) values.push_back(p.value.clone());
  return values;
}

}  // namespace

TEST_CASE("the std::thread executor matches the sequential one bit for bit on random graphs") {
  for (std::uint32_t seed : {1u, 2u}) {
    const RunResult oracle = run_random(seed, Backend::sequential, 1, 200);
    for (int threads : {2, 4}) {
      INFO("seed " << seed << ", threads " << threads);
      CHECK(bit_equal(run_random(seed, Backend::threads, threads, 200), oracle));
    }
  }
}

TEST_CASE("one std::thread executor runs forward and backward again and again, also after changing its thread count") {
  ParameterStore store(3);
  Graph g(&store);
  Expr loss = random_graph(g, input(g, "x", {DType::f32, {4, 8}}, true), 3, 100);
  Tensor x = Tensor::full(DType::f32, {4, 8}, 0.25);
  Executor ex(Backend::threads, 2);
  ex.forward(g, {{0, x}}, {loss.id});
  ex.backward(loss.id);
  const Tensor first = ex.grad(0).clone();
  for (int threads : {4, 3, 2}) {
    ex.set_threads(threads);
    ex.forward(g, {{0, x}}, {loss.id});
    ex.backward(loss.id);
    CHECK(ex.grad(0).bit_equal(first));
  }
}

TEST_CASE("a value read by many nodes at once receives all their gradients") {
  // y = sum_k k * x over 64 consumers of x: dy/dx = 0 + 1 + ... + 63 = 2016.
  Graph g;
  Expr x = input(g, "x", {DType::f64, {16}}, true);
  std::vector<Expr> terms;
  for (int k = 0; k < 64; ++k) terms.push_back(scale(x, k));
  Expr total = terms[0];
  for (int k = 1; k < 64; ++k) total = total + terms[static_cast<std::size_t>(k)];
  Expr y = sum(total);
  Executor ex(Backend::threads, 4);
  ex.forward(g, {{x.id, Tensor::full(DType::f64, {16}, 1)}}, {y.id});
  ex.backward(y.id);
  CHECK(ex.value(y.id).item() == 2016.0 * 16);
  CHECK(ex.grad(x.id).to_vector() == std::vector<double>(16, 2016.0));
}

TEST_CASE("a kernel failing among many parallel nodes cancels the run, and the executor runs again") {
  // 32 independent branches; the one fed 13 throws.
  Graph g;
  std::vector<Expr> inputs;
  Expr total;
  for (int i = 0; i < 32; ++i) {
    // (Not "x" + std::to_string(i): GCC 12's -Wrestrict misfires on it, GCC bug 105329.)
    inputs.push_back(input(g, std::string("x").append(std::to_string(i)), {DType::f32, {1}}));
    Expr branch = exp(g.add(std::make_shared<FailOnValue>(), {scale(inputs.back(), 1.0)}));
    total = i == 0 ? branch : total + branch;
  }
  Executor ex(Backend::threads, 4);
  for (int failing : {0, 17, 31}) {
    Feeds feeds;
    for (int i = 0; i < 32; ++i) feeds[inputs[static_cast<std::size_t>(i)].id] = Tensor::full(DType::f32, {1}, i == failing ? 13 : 0);
    CHECK_THROWS_WITH_AS(ex.forward(g, feeds, {total.id}), doctest::Contains("unlucky input"), NodeError);
    feeds[inputs[static_cast<std::size_t>(failing)].id] = Tensor::full(DType::f32, {1}, 0);
    ex.forward(g, feeds, {total.id});
    CHECK(ex.value(total.id).item() == 32.0);
  }
}

TEST_CASE("the profiler records on four std::threads the same node runs as on the sequential executor") {
  ParameterStore store(5);
  Graph g(&store);
  Expr loss = random_graph(g, input(g, "x", {DType::f32, {4, 8}}, true), 5, 100);
  auto record = [&](Backend backend, int threads) {
    Profiler profiler;
    RunOptions o;
    o.observer = &profiler;
    Executor ex(backend, threads);
    for (int step = 0; step < 2; ++step) {
      ex.forward(g, {{0, Tensor::full(DType::f32, {4, 8}, 0.5)}}, {loss.id}, o);
      ex.backward(loss.id);
    }
    return profiler.profile();
  };
  auto runs = [](const Profile& p, Phase phase) {
    std::vector<std::pair<int, NodeId>> r;  // (step, node)
    for (const NodeRecord& n : p.nodes)
      if (n.phase == phase) r.emplace_back(n.step, n.node);
    std::sort(r.begin(), r.end());
    return r;
  };
  const Profile oracle = record(Backend::sequential, 1), p = record(Backend::threads, 4);
  REQUIRE(p.steps.size() == 2);
  CHECK(runs(p, Phase::forward) == runs(oracle, Phase::forward));
  CHECK(runs(p, Phase::backward) == runs(oracle, Phase::backward));
  CHECK(runs(p, Phase::backward).size() > 100);
  for (const NodeRecord& r : p.nodes) {
    CHECK(r.worker < p.lanes);
    CHECK(r.end_ns >= r.start_ns);
  }
}

TEST_CASE("training on std::threads, with optimizer blocks on std::threads, matches the sequential run bit for bit") {
  for (const char* optimizer : {"sgd", "adam", "adamw"}) {
    INFO(optimizer);
    const std::vector<Tensor> oracle = train(Backend::sequential, 1, SerialParallel(), optimizer);
    const std::vector<Tensor> threaded = train(Backend::threads, 4, ThreadParallel(3), optimizer);
    REQUIRE(threaded.size() == oracle.size());
    for (std::size_t i = 0; i < oracle.size(); ++i) CHECK(threaded[i].bit_equal(oracle[i]));
  }
}

TEST_CASE("optimizer steps, gradient norms and scaling over many blocks are the same on std::threads as serially") {
  auto make = [] {
    ParameterStore store(7);
    for (const char* name : {"a", "b"}) {
      Parameter& p = store.get_or_create(name, DType::f32, {40000}, Init::normal(0, 1));
      initialize(p.grad, Init::normal(0, 0.1), name[0] == 'a' ? 1 : 2);
    }
    return store;
  };
  ParameterStore serial = make(), threaded = make();
  const ThreadParallel parallel(4);
  CHECK(grad_norm(threaded, parallel) == grad_norm(serial, SerialParallel()));
  scale_grads(serial, 0.5, SerialParallel());
  scale_grads(threaded, 0.5, parallel);
  auto adam = make_optimizer("adam"), adam2 = make_optimizer("adam");
  for (int step = 0; step < 2; ++step) {
    adam->step(serial, 1e-3, SerialParallel());
    adam2->step(threaded, 1e-3, parallel);
  }
  for (const char* name : {"a", "b"}) {
    CHECK(threaded.at(name).value.bit_equal(serial.at(name).value));
    CHECK(threaded.at(name).state.at("exp_avg_sq").bit_equal(serial.at(name).state.at("exp_avg_sq")));
  }
}
