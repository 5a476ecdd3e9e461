// Executor::forward: plan which nodes run and how long their values live,
// then run each node once its inputs are computed.
#include "engine/executor.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/executor_state.hpp"
#include "engine/numerics.hpp"

namespace attograd {

const char* phase_name(Phase p) { return p == Phase::forward ? "forward" : "backward"; }

using namespace executor_detail;

Executor::Executor(Backend backend, int threads) : backend_(backend), threads_(0) { set_threads(threads); }
Executor::~Executor() = default;

void Executor::set_threads(int threads) {
  if (threads < 0) throw Error(fmt::format("[executor] thread count must be >= 0, got {}", threads));
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (backend_ == Backend::sequential) threads = 1;
  if (runner_ && threads == threads_) return;
  threads_ = threads;
  switch (backend_) {
    case Backend::sequential: runner_ = make_sequential_runner(); break;
    case Backend::tbb: runner_ = make_tbb_runner(threads); break;
    case Backend::threads: runner_ = make_thread_runner(threads); break;
  }
}

namespace {

// Marks the targets and, in one reverse sweep (creation order is
// topological), everything they depend on.
void mark_needed(Executor::State& s, const std::vector<NodeId>& targets) {
  const Graph& graph = *s.graph;
  const std::size_t n = graph.size();
  for (NodeId t : targets) {
    if (t < 0 || static_cast<std::size_t>(t) >= n) throw Error(fmt::format("[executor] no node {} in the graph", t));
    s.needed[t] = 1;
    s.keep[t] = 1;
  }
  for (std::size_t i = n; i-- > 0;)
    if (s.needed[i])
      for (NodeId in : graph.node(static_cast<NodeId>(i)).inputs) s.needed[in] = 1;
}

// Lists each node's consumers (in consumer order) and which nodes a gradient
// can reach from a requires_grad leaf.
void wire_consumers(Executor::State& s) {
  const Graph& graph = *s.graph;
  for (std::size_t i = 0; i < graph.size(); ++i) {
    const Node& node = graph.node(static_cast<NodeId>(i));
    s.grad_reachable[i] = node.requires_grad;
    s.edge_position[i].resize(node.inputs.size());
    for (std::size_t slot = 0; slot < node.inputs.size(); ++slot) {
      const NodeId in = node.inputs[slot];
      s.edge_position[i][slot] = static_cast<int>(s.consumers[in].size());
      s.consumers[in].emplace_back(static_cast<NodeId>(i), static_cast<int>(slot));
      if (s.grad_reachable[in] && node.op->differentiable(slot)) s.grad_reachable[i] = 1;
    }
  }
}

// Sets the counters (inputs pending, readers left) of every needed node,
// decides which values must outlive the forward pass (those a later backward
// reads), and collects the roots (leaves) to start from.
void plan_lifetimes(Executor::State& s) {
  const Graph& graph = *s.graph;
  const RunOptions& options = s.options;
  for (std::size_t i = 0; i < graph.size(); ++i) {
    if (!s.needed[i]) continue;
    const Node& node = graph.node(static_cast<NodeId>(i));
    s.pending[i].store(static_cast<int>(node.inputs.size()), std::memory_order_relaxed);
    if (node.inputs.empty()) {
      s.roots.push_back(static_cast<NodeId>(i));
      s.keep[i] = 1;  // leaves alias stored tensors; they cost nothing
    }
    if (options.retain_for_backward && s.grad_reachable[i]) {
      if (node.op->backward_reads_output()) s.keep[i] = 1;
      // The numerics check reports every input of a failing backward.
      for (std::size_t slot = 0; slot < node.inputs.size(); ++slot)
        if (node.op->backward_reads_input(slot) || options.check_numerics) s.keep[node.inputs[slot]] = 1;
    }
    int uses = 0;
    for (auto [c, slot] : s.consumers[i]) uses += s.needed[c];
    s.uses_left[i].store(uses, std::memory_order_relaxed);
  }
}

std::unique_ptr<Executor::State> plan_forward(const Graph& graph, const Feeds& feeds,
                                              const std::vector<NodeId>& targets, const RunOptions& options) {
  auto state = std::make_unique<Executor::State>();
  Executor::State& s = *state;
  const std::size_t n = graph.size();
  s.graph = &graph;
  s.options = options;
  s.settings = {options.training, options.seed, options.step, options.precision};
  s.targets = targets;
  s.feeds = &feeds;
  s.consumers.assign(n, {});
  s.edge_position.assign(n, {});
  s.needed.assign(n, 0);
  s.keep.assign(n, 0);
  s.grad_reachable.assign(n, 0);
  s.values.assign(n, {});
  s.saved.assign(n, {});
  s.pending = counters(n);
  s.uses_left = counters(n);
  mark_needed(s, targets);
  wire_consumers(s);
  plan_lifetimes(s);
  return state;
}

// One node's forward: compute, check, store; free the inputs it was the last
// reader of; start the consumers it was the last input of.
void forward_node(Executor::State& s, const Parallel& parallel, NodeId id, int worker, const Spawn& spawn) {
  const Graph& graph = *s.graph;
  const Node& node = graph.node(id);
  ExecutionObserver* observer = s.options.observer;
  const std::int64_t start = observer ? now_ns() : 0;
  Precision ran_in = Precision::f32;
  try {
    OpContext::Wiring w = s.context_for(id, parallel);
    if (auto it = s.feeds->find(id); it != s.feeds->end()) w.fed = &it->second;
    OpContext ctx(std::move(w));
    Tensor out = node.op->forward(ctx);
    ran_in = ctx.ran_in();
    if (!out.defined() || out.dtype() != node.type.dtype || out.shape() != node.type.shape)
      throw Error(fmt::format("[{}] forward returned {}{}, but the node's type is {}", node.op->name(),
                              out.defined() ? dtype_name(out.dtype()) : "nothing", to_string(out.shape()),
                              to_string(node.type)));
    if (s.options.check_numerics && out.has_non_finite())
      throw_numerics_error(graph, id, Phase::forward, out, "output", read_by(s, node, nullptr));
    s.values[id] = std::move(out);
  } catch (...) {
    rethrow_for_node(graph, id, Phase::forward);
  }
  if (observer)
    observer->on_node(
        {id, Phase::forward, worker, start, now_ns(), static_cast<std::int64_t>(s.values[id].nbytes()), ran_in});
  for (NodeId in : node.inputs)
    if (s.uses_left[in].fetch_sub(1, std::memory_order_acq_rel) == 1 && !s.keep[in]) s.values[in] = Tensor();
  for (auto [c, slot] : s.consumers[id])
    if (s.needed[c] && s.pending[c].fetch_sub(1, std::memory_order_acq_rel) == 1) spawn(c);
}

}  // namespace

void Executor::forward(const Graph& graph, const Feeds& feeds, const std::vector<NodeId>& targets,
                       const RunOptions& options) {
  state_ = plan_forward(graph, feeds, targets, options);
  State& s = *state_;
  reset_tensor_bytes_peak();
  const std::int64_t base_bytes = tensor_bytes_live();
  const NodeBody body = [&](NodeId id, int worker, const Spawn& spawn) {
    forward_node(s, *runner_, id, worker, spawn);
  };
  run_pass(*runner_, options.observer, [&] {
    return RunInfo{&graph, Phase::forward, threads_, targets, options.retain_for_backward};
  }, s.roots, body);
  peak_bytes_ = tensor_bytes_peak() - base_bytes;
}

const Tensor& Executor::value(NodeId id) const {
  if (!state_ || id < 0 || static_cast<std::size_t>(id) >= state_->values.size() || !state_->values[id].defined())
    throw Error(fmt::format("[executor] node {} has no value: it was not a target of the last forward()",
                            describe_node(state_.get(), id)));
  return state_->values[id];
}

const Tensor& Executor::grad(NodeId id) const {
  if (state_)
    if (auto it = state_->leaf_grads.find(id); it != state_->leaf_grads.end()) return it->second;
  throw Error(fmt::format("[executor] node {} has no gradient: grad() is kept for input leaves created with "
                          "requires_grad, after backward()",
                          describe_node(state_.get(), id)));
}

}  // namespace attograd
