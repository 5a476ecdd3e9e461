// The TBB backend runs independent nodes at the same time, forward and
// backward, and the thread count can be changed between runs. Two branches
// of a graph each hold a node that sleeps: on 2 threads their intervals
// overlap, on 1 thread (and on the sequential backend) they cannot.
// Sleeping rather than spinning keeps the test independent of machine load.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/leaves.hpp"
#include "profile/profiler.hpp"
#include "ops/builtin.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"

using namespace attograd;

namespace {

constexpr auto kNap = std::chrono::milliseconds(60);

// The identity, taking kNap in forward and in backward.
class NapOp final : public Op {
 public:
  std::string name() const override { return "nap"; }
  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError("[nap] takes one input");
    return in[0];
  }
  Tensor forward(OpContext& c) const override {
    std::this_thread::sleep_for(kNap);
    return c.input(0).clone();
  }
  std::vector<Tensor> backward(OpContext& c) const override {
    std::this_thread::sleep_for(kNap);
    return {c.grad_output().clone()};
  }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }
};

Expr nap(Expr x) { return x.graph->add(std::make_shared<NapOp>(), {x}); }

struct TwoBranches {
  Graph g;
  Expr x, a, b, loss;
  TwoBranches() {
    x = input(g, "x", {DType::f32, {4}}, /*requires_grad=*/true);
    a = nap(scale(x, 2.0));
    b = nap(scale(x, 3.0));
    loss = sum(a + b);
  }
};

// Whether the records of nodes a and b overlap in time, in `phase`.
bool overlapped(const Profile& p, NodeId a, NodeId b, Phase phase) {
  const NodeRecord *ra = nullptr, *rb = nullptr;
  for (const NodeRecord& r : p.nodes) {
    if (r.phase != phase) continue;
    if (r.node == a) ra = &r;
    if (r.node == b) rb = &r;
  }
  REQUIRE(ra != nullptr);
  REQUIRE(rb != nullptr);
  return ra->start_ns < rb->end_ns && rb->start_ns < ra->end_ns;
}

// One forward + backward of the graph with a profiler attached.
std::unique_ptr<Profiler> run_once(Executor& ex, const TwoBranches& t) {
  auto prof = std::make_unique<Profiler>();
  RunOptions o;
  o.observer = prof.get();
  ex.forward(t.g, {{t.x.id, Tensor::full(DType::f32, {4}, 1.0)}}, {t.loss.id}, o);
  ex.backward(t.loss.id);
  CHECK(ex.grad(t.x.id).at({0}) == 5.0);  // d/dx sum(2x + 3x)
  return prof;
}

}  // namespace

TEST_CASE("the TBB backend runs independent nodes concurrently in forward and in backward") {
  ensure_builtin_ops();
  TwoBranches t;
  Executor ex(Backend::tbb, 2);
  const auto prof = run_once(ex, t);
  CHECK(overlapped(prof->profile(), t.a.id, t.b.id, Phase::forward));
  CHECK(overlapped(prof->profile(), t.a.id, t.b.id, Phase::backward));
}

TEST_CASE("a TBB executor's thread count changes between runs: one thread runs one node at a time") {
  ensure_builtin_ops();
  TwoBranches t;
  Executor ex(Backend::tbb, 2);
  ex.set_threads(1);
  const auto one = run_once(ex, t);
  CHECK_FALSE(overlapped(one->profile(), t.a.id, t.b.id, Phase::forward));
  CHECK_FALSE(overlapped(one->profile(), t.a.id, t.b.id, Phase::backward));
  ex.set_threads(2);
  const auto two = run_once(ex, t);
  CHECK(overlapped(two->profile(), t.a.id, t.b.id, Phase::forward));
}

TEST_CASE("the sequential backend never overlaps nodes") {
  ensure_builtin_ops();
  TwoBranches t;
  Executor ex(Backend::sequential);
  const auto prof = run_once(ex, t);
  CHECK_FALSE(overlapped(prof->profile(), t.a.id, t.b.id, Phase::forward));
  CHECK_FALSE(overlapped(prof->profile(), t.a.id, t.b.id, Phase::backward));
}
