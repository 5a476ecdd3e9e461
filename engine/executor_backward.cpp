// Executor::backward: gradients from an output back to every leaf that
// wants one, each node run once all its consumers have sent theirs.
#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/executor_state.hpp"

namespace attograd {

using namespace executor_detail;

void Executor::backward(NodeId loss) {
  if (!state_ || static_cast<std::size_t>(loss) >= state_->values.size() || !state_->values[loss].defined())
    throw Error(fmt::format("[executor] backward from node {} before a forward() that computed it",
                            describe_node(state_.get(), loss)));
  const Tensor& v = state_->values[loss];
  if (v.numel() != 1)
    throw Error(fmt::format("[executor] backward from node {} '{}' of shape {}: a loss must have one element; "
                            "pass a seed gradient for other outputs",
                            loss, state_->graph->node(loss).label, to_string(v.shape())));
  backward(loss, Tensor::full(v.dtype(), v.shape(), 1.0));
}

namespace {

// What one backward pass needs besides the run state: where it starts, and
// which nodes are active (on a differentiable path from a requires_grad leaf
// to the output).
struct BackwardPlan {
  NodeId output;
  Tensor seed;
  std::vector<char> active;
  std::mutex leaf_mutex;  // guards State::leaf_grads

  // The edge (consumer's input `slot`) carries a gradient.
  bool live_edge(const Graph& graph, NodeId consumer, std::size_t slot) const {
    const Node& c = graph.node(consumer);
    return active[consumer] && active[c.inputs[slot]] && c.op->differentiable(slot);
  }
};

// Marks the active nodes (one reverse sweep from the output) and sets each
// one's counter to its active consumers: a node's backward waits for all of
// them, including those that send it no gradient but read its value
// (embedding reads its ids).
void plan_backward(Executor::State& s, BackwardPlan& plan) {
  const Graph& graph = *s.graph;
  const std::size_t n = graph.size();
  std::vector<char>& active = plan.active;
  active.assign(n, 0);
  active[plan.output] = s.grad_reachable[plan.output];
  for (std::size_t i = static_cast<std::size_t>(plan.output) + 1; i-- > 0;) {
    if (!active[i]) continue;
    const Node& node = graph.node(static_cast<NodeId>(i));
    for (std::size_t slot = 0; slot < node.inputs.size(); ++slot)
      if (s.grad_reachable[node.inputs[slot]] && node.op->differentiable(slot)) active[node.inputs[slot]] = 1;
  }
  s.grad_parts.assign(n, {});
  s.leaf_grads.clear();
  for (std::size_t i = 0; i < n; ++i) {
    if (!active[i]) continue;
    int waits = 0;
    for (auto [c, slot] : s.consumers[i]) waits += active[c];
    s.pending[i].store(waits, std::memory_order_relaxed);
    s.grad_parts[i].resize(s.consumers[i].size());
  }
}

// The gradient of input `slot` as the input's own type: an undefined one is
// zeros, a broadcast one is summed down; anything else is the op's bug.
Tensor gradient_for_input(const Graph& graph, const Node& node, std::size_t slot, Tensor g, const Parallel& parallel) {
  const TensorType& want = graph.node(node.inputs[slot]).type;
  if (!g.defined()) return Tensor::zeros(want.dtype, want.shape);
  if (g.dtype() != want.dtype)
    throw Error(fmt::format("[{}] gradient for input {} is {}, the input is {}", node.op->name(), slot,
                            dtype_name(g.dtype()), dtype_name(want.dtype)));
  if (g.shape() == want.shape) return g;
  Shape common;
  if (!broadcast_shapes(g.shape(), want.shape, common) || common != g.shape())
    throw Error(fmt::format("[{}] gradient for input {} has shape {}, which does not broadcast from {}",
                            node.op->name(), slot, to_string(g.shape()), to_string(want.shape)));
  return sum_to_shape(g, want.shape, &parallel);
}

// One node's backward: sum the gradient parts its consumers sent (in
// consumer order), run the op's backward, hand each input its part, free
// what nothing reads again, and start the inputs it was the last consumer of.
void backward_node(Executor::State& s, BackwardPlan& plan, const Parallel& parallel, NodeId id, int worker,
                   const Spawn& spawn) {
  const Graph& graph = *s.graph;
  const Node& node = graph.node(id);
  ExecutionObserver* observer = s.options.observer;
  const std::int64_t start = observer ? now_ns() : 0;
  std::int64_t bytes_out = 0;
  Precision ran_in = Precision::f32;
  try {
    Tensor grad = id == plan.output ? plan.seed : sum_gradient_parts(s.grad_parts[id], parallel);
    if (!grad.defined()) grad = Tensor::zeros(node.type.dtype, node.type.shape);
    if (node.requires_grad && node.inputs.empty()) {
      std::lock_guard lock(plan.leaf_mutex);
      s.leaf_grads[id] = grad;
    }
    OpContext::Wiring w = s.context_for(id, parallel);
    w.output = &s.values[id];
    w.grad_output = &grad;
    for (std::size_t slot = 0; slot < node.inputs.size(); ++slot) w.needs_grad.push_back(plan.live_edge(graph, id, slot));
    OpContext ctx(std::move(w));
    std::vector<Tensor> grads = node.op->backward(ctx);
    ran_in = ctx.ran_in();
    if (grads.size() != node.inputs.size())
      throw Error(fmt::format("[{}] backward returned {} gradients for {} inputs", node.op->name(), grads.size(),
                              node.inputs.size()));
    for (std::size_t slot = 0; slot < node.inputs.size(); ++slot) {
      if (!plan.live_edge(graph, id, slot)) continue;
      Tensor g = gradient_for_input(graph, node, slot, std::move(grads[slot]), parallel);
      if (s.options.check_numerics && g.has_non_finite())
        throw_numerics_error(graph, id, Phase::backward, g, fmt::format("gradient for input {}", slot),
                             read_by(s, node, &grad));
      bytes_out += static_cast<std::int64_t>(g.nbytes());
      s.grad_parts[node.inputs[slot]][s.edge_position[id][slot]] = std::move(g);
    }
    // This node is done: nothing reads its saved tensors or value again.
    s.saved[id].clear();
    if (!node.inputs.empty() && std::find(s.targets.begin(), s.targets.end(), id) == s.targets.end())
      s.values[id] = Tensor();
  } catch (...) {
    rethrow_for_node(graph, id, Phase::backward);
  }
  if (observer) observer->on_node({id, Phase::backward, worker, start, now_ns(), bytes_out, ran_in});
  for (NodeId in : node.inputs)
    if (plan.active[in] && s.pending[in].fetch_sub(1, std::memory_order_acq_rel) == 1) spawn(in);
}

}  // namespace

void Executor::backward(NodeId output, Tensor seed) {
  if (!state_ || static_cast<std::size_t>(output) >= state_->values.size() || !state_->values[output].defined())
    throw Error(fmt::format("[executor] backward from node {} before a forward() that computed it",
                            describe_node(state_.get(), output)));
  State& s = *state_;
  const Graph& graph = *s.graph;
  if (seed.dtype() != s.values[output].dtype() || seed.shape() != s.values[output].shape())
    throw Error(fmt::format("[executor] seed gradient {}{} does not match node {} of type {}", dtype_name(seed.dtype()),
                            to_string(seed.shape()), output, to_string(graph.node(output).type)));
  BackwardPlan plan{output, std::move(seed), {}, {}};
  plan_backward(s, plan);
  if (!plan.active[output]) return;  // nothing upstream wants a gradient

  const std::int64_t base_bytes = tensor_bytes_live();
  const NodeBody body = [&](NodeId id, int worker, const Spawn& spawn) {
    backward_node(s, plan, *runner_, id, worker, spawn);
  };
  run_pass(*runner_, s.options.observer, [&] {
    return RunInfo{&graph, Phase::backward, threads_, {output}, s.options.retain_for_backward};
  }, {output}, body);
  peak_bytes_ = std::max(peak_bytes_, tensor_bytes_peak() - base_bytes);
}

}  // namespace attograd
