#include "engine/executor.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/numerics.hpp"
#include "engine/runners.hpp"

namespace attograd {

const char* phase_name(Phase p) { return p == Phase::forward ? "forward" : "backward"; }

// Everything one forward + backward needs, rebuilt by every forward().
struct Executor::State {
  const Graph* graph = nullptr;
  RunOptions options;
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
};

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Wraps whatever a node threw so the caller learns which node failed.
[[noreturn]] void rethrow_for_node(const Graph& g, NodeId n, Phase phase) {
  const Node& node = g.node(n);
  const std::string op = node.op->name();
  try {
    throw;
  } catch (const NodeError&) {
    throw;
  } catch (const std::exception& e) {
    throw NodeError(fmt::format("{} (in {} of node {} '{}', op {})", e.what(), phase_name(phase), n, node.label, op),
                    n, op, node.label, phase_name(phase));
  }
}

std::unique_ptr<std::atomic<int>[]> counters(std::size_t n) {
  auto c = std::make_unique<std::atomic<int>[]>(n);
  for (std::size_t i = 0; i < n; ++i) c[i].store(0, std::memory_order_relaxed);
  return c;
}

// What a node reads, for the numerics report.
NumericsInputs read_by(const Executor::State& s, const Node& node, const Tensor* grad_output) {
  NumericsInputs read{{}, grad_output};
  for (NodeId in : node.inputs) read.inputs.push_back(&s.values[in]);
  return read;
}

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

}  // namespace

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

void Executor::forward(const Graph& graph, const Feeds& feeds, const std::vector<NodeId>& targets,
                       const RunOptions& options) {
  state_ = std::make_unique<State>();
  State& s = *state_;
  const std::size_t n = graph.size();
  s.graph = &graph;
  s.options = options;
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

  for (NodeId t : targets) {
    if (t < 0 || static_cast<std::size_t>(t) >= n) throw Error(fmt::format("[executor] no node {} in the graph", t));
    s.needed[t] = 1;
    s.keep[t] = 1;
  }
  // Creation order is topological: one reverse sweep marks what targets need.
  for (std::size_t i = n; i-- > 0;)
    if (s.needed[i])
      for (NodeId in : graph.node(static_cast<NodeId>(i)).inputs) s.needed[in] = 1;

  for (std::size_t i = 0; i < n; ++i) {
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

  // What must outlive the forward pass: values a later backward reads.
  std::vector<NodeId> roots;
  for (std::size_t i = 0; i < n; ++i) {
    if (!s.needed[i]) continue;
    const Node& node = graph.node(static_cast<NodeId>(i));
    s.pending[i].store(static_cast<int>(node.inputs.size()), std::memory_order_relaxed);
    if (node.inputs.empty()) roots.push_back(static_cast<NodeId>(i));
    if (node.inputs.empty()) s.keep[i] = 1;  // leaves alias stored tensors; they cost nothing
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

  reset_tensor_bytes_peak();
  const std::int64_t base_bytes = tensor_bytes_live();
  ExecutionObserver* observer = options.observer;

  const NodeBody body = [&](NodeId id, int worker, const Spawn& spawn) {
    const Node& node = graph.node(id);
    const std::int64_t start = observer ? now_ns() : 0;
    try {
      OpContext::Wiring w;
      w.graph = &graph;
      w.node = id;
      for (NodeId in : node.inputs) w.inputs.push_back(&s.values[in]);
      w.saved = &s.saved[id];
      if (auto it = feeds.find(id); it != feeds.end()) w.fed = &it->second;
      w.parameters = graph.parameters();
      w.parallel = runner_.get();
      w.settings = &s.options;
      OpContext ctx(std::move(w));
      Tensor out = node.op->forward(ctx);
      if (!out.defined() || out.dtype() != node.type.dtype || out.shape() != node.type.shape)
        throw Error(fmt::format("[{}] forward returned {}{}, but the node's type is {}", node.op->name(),
                                out.defined() ? dtype_name(out.dtype()) : "nothing", to_string(out.shape()),
                                to_string(node.type)));
      if (options.check_numerics && out.has_non_finite())
        throw_numerics_error(graph, id, Phase::forward, out, "output", read_by(s, node, nullptr));
      s.values[id] = std::move(out);
    } catch (...) {
      rethrow_for_node(graph, id, Phase::forward);
    }
    if (observer)
      observer->on_node({id, Phase::forward, worker, start, now_ns(), static_cast<std::int64_t>(s.values[id].nbytes())});
    // Free inputs this node was the last reader of.
    for (NodeId in : node.inputs)
      if (s.uses_left[in].fetch_sub(1, std::memory_order_acq_rel) == 1 && !s.keep[in]) s.values[in] = Tensor();
    for (auto [c, slot] : s.consumers[id])
      if (s.needed[c] && s.pending[c].fetch_sub(1, std::memory_order_acq_rel) == 1) spawn(c);
  };
  run_pass(*runner_, observer, [&] {
    return RunInfo{&graph, Phase::forward, threads_, targets, options.retain_for_backward};
  }, roots, body);
  peak_bytes_ = tensor_bytes_peak() - base_bytes;
}

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
        // One part is used as is. Several are added into a fresh buffer: a
        // part may alias a tensor another node still reads (add() hands the
        // same gradient to both of its inputs), so none is written in place.
        int count = 0;
        for (const Tensor& part : s.grad_parts[id]) count += part.defined();
        for (Tensor& part : s.grad_parts[id]) {
          if (!part.defined()) continue;
          if (count == 1) {
            grad = std::move(part);
            break;
          }
          if (!grad.defined()) {
            grad = part.clone();
          } else {
            visit_floating(grad.dtype(), [&]<class T>(T) {
              T* g = grad.data<T>();
              const T* p = part.data<T>();
              for (std::int64_t k = 0; k < grad.numel(); ++k) g[k] += p[k];
            });
          }
          part = Tensor();
        }
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
          g = sum_to_shape(g, want.shape);
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

const Tensor& Executor::value(NodeId id) const {
  if (!state_ || id < 0 || static_cast<std::size_t>(id) >= state_->values.size() || !state_->values[id].defined())
    throw Error(fmt::format("[executor] node {} has no value: it was not a target of the last forward()", id));
  return state_->values[id];
}

const Tensor& Executor::grad(NodeId id) const {
  if (state_)
    if (auto it = state_->leaf_grads.find(id); it != state_->leaf_grads.end()) return it->second;
  throw Error(fmt::format("[executor] node {} has no gradient: grad() is kept for input leaves created with "
                          "requires_grad, after backward()",
                          id));
}

}  // namespace attograd
