// The executor's run state and the helpers its forward pass
// (engine/executor.cpp) and backward pass (engine/executor_backward.cpp)
// share. Internal to the engine: not part of the public headers.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/context.hpp"
#include "engine/executor.hpp"
#include "engine/numerics.hpp"
#include "engine/runners.hpp"

namespace attograd {

// Everything one forward + backward needs, rebuilt by every forward().
struct Executor::State {
  const Graph* graph = nullptr;
  RunOptions options;
  RunSettings settings;  // the part of the options every node reads
  std::vector<NodeId> targets;

  // Consumers of each node as (consumer, input slot), sorted; and for each
  // (node, slot) the position of that edge in its input's consumer list.
  std::vector<std::vector<std::pair<NodeId, int>>> consumers;
  std::vector<std::vector<int>> edge_position;

  std::vector<char> needed;        // forward computes this node
  std::vector<char> keep;          // value must survive the forward pass
  std::vector<char> grad_reachable;
  std::vector<Tensor> values;
  std::vector<std::vector<Tensor>> saved;
  std::unique_ptr<std::atomic<int>[]> pending;  // forward: inputs left; backward: gradients left
  std::unique_ptr<std::atomic<int>[]> uses_left;
  std::vector<std::vector<Tensor>> grad_parts;  // per node, one slot per consumer edge
  std::unordered_map<NodeId, Tensor> leaf_grads;
  const Feeds* feeds = nullptr;
  std::vector<NodeId> roots;  // the needed leaves: where forward starts

  // What node `id`'s op sees in either pass: its inputs' values, its saved
  // tensors, the parameters, the threads and the run settings. Forward adds
  // the fed value of an input leaf (the feeds live only through forward());
  // backward the output, its gradient and needs_grad.
  OpContext::Wiring context_for(NodeId id, const Parallel& parallel);
};

namespace executor_detail {

std::int64_t now_ns();

// "12 'encoder.softmax' (softmax)", "3 'input' (input 'src')" for messages;
// just the id when `s` is null or has no such node.
std::string describe_node(const Executor::State* s, NodeId id);

// Wraps whatever a node threw so the caller learns which node failed.
[[noreturn]] void rethrow_for_node(const Graph& g, NodeId n, Phase phase);

// n atomic counters, all 0.
std::unique_ptr<std::atomic<int>[]> counters(std::size_t n);

// What a node reads, for the numerics report.
NumericsInputs read_by(const Executor::State& s, const Node& node, const Tensor* grad_output);

// The sum of a node's gradient parts (undefined ones skipped), added in part
// order, elementwise in fixed blocks on `parallel`: the same bits on any
// thread count. One part is returned as is; several go into a fresh buffer,
// since a part may alias a tensor another node still reads (add() hands the
// same gradient to both of its inputs). Undefined if no part is.
Tensor sum_gradient_parts(std::vector<Tensor>& parts, const Parallel& parallel);

// Runs one pass; an observer hears of it before and after (also on failure).
// The RunInfo is only built when someone listens: profiling off costs nothing.
template <class MakeInfo>
void run_pass(TaskRunner& runner, ExecutionObserver* observer, const MakeInfo& make_info,
              const std::vector<NodeId>& initial, const NodeBody& body) {
  if (observer == nullptr) return runner.run(initial, body);
  const RunInfo info = make_info();
  observer->on_run_begin(info);
  try {
    runner.run(initial, body);
  } catch (...) {
    observer->on_run_end(info);
    throw;
  }
  observer->on_run_end(info);
}

}  // namespace executor_detail
}  // namespace attograd
