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
    throw Error(fmt::format("[executor] backward({}) before a forward() that computed it", loss));
  const Tensor& v = state_->values[loss];
  if (v.numel() != 1)
    throw Error(fmt::format("[executor] backward from node {} '{}' of shape {}: a loss must have one element; "
                            "pass a seed gradient for other outputs",
                            loss, state_->graph->node(loss).label, to_string(v.shape())));
  backward(loss, Tensor::full(v.dtype(), v.shape(), 1.0));
}

void Executor::backward(NodeId output, Tensor seed) {
  if (!state_ || static_cast<std::size_t>(output) >= state_->values.size() || !state_->values[output].defined())
    throw Error(fmt::format("[executor] backward({}) before a forward() that computed it", output));
  State& s = *state_;
  const Graph& graph = *s.graph;
  const std::size_t n = graph.size();
  if (seed.dtype() != s.values[output].dtype() || seed.shape() != s.values[output].shape())
    throw Error(fmt::format("[executor] seed gradient {}{} does not match node {} of type {}", dtype_name(seed.dtype()),
                            to_string(seed.shape()), output, to_string(graph.node(output).type)));

  // active: on a differentiable path from a requires_grad leaf to `output`.
  std::vector<char> active(n, 0);
  active[output] = s.grad_reachable[output];
  for (std::size_t i = static_cast<std::size_t>(output) + 1; i-- > 0;) {
    if (!active[i]) continue;
    const Node& node = graph.node(static_cast<NodeId>(i));
    for (std::size_t slot = 0; slot < node.inputs.size(); ++slot)
      if (s.grad_reachable[node.inputs[slot]] && node.op->differentiable(slot)) active[node.inputs[slot]] = 1;
  }
  auto live_edge = [&](NodeId consumer, std::size_t slot) {
    const Node& c = graph.node(consumer);
    return active[consumer] && active[c.inputs[slot]] && c.op->differentiable(slot);
  };
  s.grad_parts.assign(n, {});
  s.leaf_grads.clear();
  // A node's backward waits for every active consumer, including those that
  // send it no gradient but read its value (embedding reads its ids).
  for (std::size_t i = 0; i < n; ++i) {
    if (!active[i]) continue;
    int waits = 0;
    for (auto [c, slot] : s.consumers[i]) waits += active[c];
    s.pending[i].store(waits, std::memory_order_relaxed);
    s.grad_parts[i].resize(s.consumers[i].size());
  }
  if (!active[output]) return;  // nothing upstream wants a gradient

  const std::int64_t base_bytes = tensor_bytes_live();
  ExecutionObserver* observer = s.options.observer;
  std::mutex leaf_mutex;

  const NodeBody body = [&](NodeId id, int worker, const Spawn& spawn) {
    const Node& node = graph.node(id);
    const std::int64_t start = observer ? now_ns() : 0;
    std::int64_t bytes_out = 0;
    try {
      // Sum the contributions of every consumer, in consumer order.
      Tensor grad;
      if (id == output) {
        grad = seed;
      } else {
        grad = sum_gradient_parts(s.grad_parts[id], *runner_);
        if (!grad.defined()) grad = Tensor::zeros(node.type.dtype, node.type.shape);
      }
      if (node.requires_grad && node.inputs.empty()) {
        std::lock_guard lock(leaf_mutex);
        s.leaf_grads[id] = grad;
      }

      OpContext::Wiring w;
      w.graph = &graph;
      w.node = id;
      for (NodeId in : node.inputs) w.inputs.push_back(&s.values[in]);
      w.output = &s.values[id];
      w.grad_output = &grad;
      for (std::size_t slot = 0; slot < node.inputs.size(); ++slot) w.needs_grad.push_back(live_edge(id, slot));
      w.saved = &s.saved[id];
      w.parameters = graph.parameters();
      w.parallel = runner_.get();
      w.settings = &s.options;
      OpContext ctx(std::move(w));
      std::vector<Tensor> grads = node.op->backward(ctx);
      if (grads.size() != node.inputs.size())
        throw Error(fmt::format("[{}] backward returned {} gradients for {} inputs", node.op->name(), grads.size(),
                                node.inputs.size()));
      for (std::size_t slot = 0; slot < node.inputs.size(); ++slot) {
        if (!live_edge(id, slot)) continue;
        const NodeId in = node.inputs[slot];
        const TensorType& want = graph.node(in).type;
        Tensor g = std::move(grads[slot]);
        if (!g.defined()) g = Tensor::zeros(want.dtype, want.shape);
        if (g.dtype() != want.dtype)
          throw Error(fmt::format("[{}] gradient for input {} is {}, the input is {}", node.op->name(), slot,
                                  dtype_name(g.dtype()), dtype_name(want.dtype)));
        if (g.shape() != want.shape) {
          Shape common;
          if (!broadcast_shapes(g.shape(), want.shape, common) || common != g.shape())
            throw Error(fmt::format("[{}] gradient for input {} has shape {}, which does not broadcast from {}",
                                    node.op->name(), slot, to_string(g.shape()), to_string(want.shape)));
          g = sum_to_shape(g, want.shape, runner_.get());
        }
        if (s.options.check_numerics && g.has_non_finite())
          throw_numerics_error(graph, id, Phase::backward, g, fmt::format("gradient for input {}", slot),
                               read_by(s, node, &grad));
        bytes_out += static_cast<std::int64_t>(g.nbytes());
        s.grad_parts[in][s.edge_position[id][slot]] = std::move(g);
      }
      // This node is done: nothing reads its saved tensors or value again.
      s.saved[id].clear();
      if (!node.inputs.empty() && std::find(s.targets.begin(), s.targets.end(), id) == s.targets.end())
        s.values[id] = Tensor();
    } catch (...) {
      rethrow_for_node(graph, id, Phase::backward);
    }
    if (observer) observer->on_node({id, Phase::backward, worker, start, now_ns(), bytes_out});
    for (NodeId in : node.inputs)
      if (active[in] && s.pending[in].fetch_sub(1, std::memory_order_acq_rel) == 1) spawn(in);
  };
  run_pass(*runner_, observer, [&] {
    return RunInfo{&graph, Phase::backward, threads_, {output}, s.options.retain_for_backward};
  }, {output}, body);
  peak_bytes_ = std::max(peak_bytes_, tensor_bytes_peak() - base_bytes);
}

}  // namespace attograd
