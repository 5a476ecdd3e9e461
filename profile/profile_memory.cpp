// The memory report.
//
// Which tensors are alive at the peak is *simulated*, not measured: the
// recorded schedule is replayed in time order through the same liveness rules
// the executor applies (engine/executor.cpp, executor_backward.cpp), so every
// byte has a name. A node's value appears when the node starts and disappears
// after its last forward reader, unless a backward reads it
// (Op::backward_reads_*), it is a target, or it is a leaf (leaves alias stored
// tensors: counted as resident, not as allocations). Gradients sent to a node
// live until that node's backward has used them; several are summed into a
// fresh buffer.
//
// What the replay cannot see: tensors an op saves for its backward, kernel
// temporaries, and outputs that alias an input (a reshape) or gradients that
// alias the incoming one (add returns it twice) — counted as separate buffers —
// and the inputs a run with check_numerics keeps for its error report.
// The process-wide count of live tensor bytes sampled at every node's end is
// reported next to it as `measured_peak_bytes`.
#include <algorithm>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "profile/profile_report.hpp"
#include "profile/profile_util.hpp"

namespace attograd {

using namespace profile_util;

namespace {

std::int64_t value_bytes(const Graph& g, NodeId n) {
  const TensorType& t = g.node(n).type;
  return numel(t.shape) * static_cast<std::int64_t>(dtype_size(t.dtype));
}

// The executor's bookkeeping for one step, replayed over its records.
class Replay {
 public:
  Replay(const StepRecord& step, const NodeRecord* begin, const NodeRecord* end);

  // Replays up to and including check point `stop` (-1: all). Returns the
  // index of the check point with the highest total.
  std::int64_t run(std::int64_t stop);

  std::int64_t total = 0, peak = 0;
  NodeId peak_node = -1;
  Phase peak_phase = Phase::forward;
  std::vector<std::int64_t> values, grads;

 private:
  void forward_start(NodeId n);
  void forward_end(NodeId n);
  void backward_start(NodeId n);
  void backward_end(NodeId n);
  void set(std::vector<std::int64_t>& slot, NodeId n, std::int64_t bytes);
  void check(NodeId n, Phase phase);
  bool live_edge(NodeId n, std::size_t slot) const;
  // Past the stop point nothing changes: the state is the one at the stop.
  bool frozen() const { return stop_ >= 0 && checks_ > stop_; }

  const Graph& g_;
  const StepRecord& step_;
  std::vector<const NodeRecord*> records_;
  std::vector<char> ran_forward_, ran_backward_, keep_;
  std::vector<int> uses_left_, parts_;
  std::int64_t checks_ = 0, stop_ = -1, best_ = -1;
};

Replay::Replay(const StepRecord& step, const NodeRecord* begin, const NodeRecord* end)
    : g_(*step.graph), step_(step) {
  const std::size_t n = g_.size();
  ran_forward_.assign(n, 0);
  ran_backward_.assign(n, 0);
  for (const NodeRecord* r = begin; r != end; ++r) {
    records_.push_back(r);
    (r->phase == Phase::forward ? ran_forward_ : ran_backward_)[static_cast<std::size_t>(r->node)] = 1;
  }
  // keep: what the executor's forward() marks as surviving the forward pass.
  keep_.assign(n, 0);
  std::vector<char> reachable(n, 0);
  for (NodeId t : step.targets) keep_[static_cast<std::size_t>(t)] = 1;
  for (std::size_t i = 0; i < n; ++i) {
    const Node& node = g_.node(static_cast<NodeId>(i));
    reachable[i] = node.requires_grad;
    for (std::size_t slot = 0; slot < node.inputs.size(); ++slot)
      if (reachable[static_cast<std::size_t>(node.inputs[slot])] && node.op->differentiable(slot)) reachable[i] = 1;
    if (!ran_forward_[i] || !step.retain_for_backward || !reachable[i]) continue;
    if (node.op->backward_reads_output()) keep_[i] = 1;
    for (std::size_t slot = 0; slot < node.inputs.size(); ++slot)
      if (node.op->backward_reads_input(slot)) keep_[static_cast<std::size_t>(node.inputs[slot])] = 1;
  }
}

std::int64_t Replay::run(std::int64_t stop) {
  const std::size_t n = g_.size();
  values.assign(n, 0);
  grads.assign(n, 0);
  parts_.assign(n, 0);
  uses_left_.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i)
    if (ran_forward_[i])
      for (NodeId in : g_.node(static_cast<NodeId>(i)).inputs) ++uses_left_[static_cast<std::size_t>(in)];
  total = peak = 0;
  checks_ = 0;
  stop_ = stop;
  best_ = -1;
  // Sweep points in time order; at equal times ends (frees) come first.
  struct Point { std::int64_t time; bool start; std::size_t k; };
  std::vector<Point> points;
  for (std::size_t k = 0; k < records_.size(); ++k) {
    points.push_back({records_[k]->start_ns, true, k});
    points.push_back({records_[k]->end_ns, false, k});
  }
  std::stable_sort(points.begin(), points.end(),
                   [](const Point& a, const Point& b) { return a.time != b.time ? a.time < b.time : !a.start && b.start; });
  for (const Point& p : points) {
    if (frozen()) break;
    const NodeRecord& r = *records_[p.k];
    if (r.phase == Phase::forward) p.start ? forward_start(r.node) : forward_end(r.node);
    else p.start ? backward_start(r.node) : backward_end(r.node);
  }
  return best_;
}

void Replay::set(std::vector<std::int64_t>& slot, NodeId n, std::int64_t bytes) {
  if (frozen()) return;
  total += bytes - slot[static_cast<std::size_t>(n)];
  slot[static_cast<std::size_t>(n)] = bytes;
}

void Replay::check(NodeId n, Phase phase) {
  if (frozen()) return;
  if (total > peak || best_ < 0) {
    peak = total;
    best_ = checks_;
    peak_node = n;
    peak_phase = phase;
  }
  ++checks_;
}

bool Replay::live_edge(NodeId n, std::size_t slot) const {
  const Node& node = g_.node(n);
  return ran_backward_[static_cast<std::size_t>(node.inputs[slot])] && node.op->differentiable(slot);
}

void Replay::forward_start(NodeId n) {
  if (g_.node(n).inputs.empty()) return;  // a leaf: resident, not allocated
  set(values, n, value_bytes(g_, n));
  check(n, Phase::forward);
}

void Replay::forward_end(NodeId n) {
  for (NodeId in : g_.node(n).inputs)
    if (--uses_left_[static_cast<std::size_t>(in)] == 0 && !keep_[static_cast<std::size_t>(in)]) set(values, in, 0);
}

void Replay::backward_start(NodeId n) {
  const int parts = parts_[static_cast<std::size_t>(n)];
  if (n == step_.backward_from || parts != 1) {  // the seed, a sum of parts, or zeros
    set(grads, n, grads[static_cast<std::size_t>(n)] + value_bytes(g_, n));  // with the parts it sums
    check(n, Phase::backward);
    set(grads, n, value_bytes(g_, n));
  }
}

void Replay::backward_end(NodeId n) {
  const Node& node = g_.node(n);
  for (std::size_t slot = 0; slot < node.inputs.size(); ++slot) {
    if (!live_edge(n, slot)) continue;
    const NodeId in = node.inputs[slot];
    set(grads, in, grads[static_cast<std::size_t>(in)] + value_bytes(g_, in));
    ++parts_[static_cast<std::size_t>(in)];
  }
  check(n, Phase::backward);
  const bool leaf_grad_kept = node.inputs.empty() && node.requires_grad;
  if (!leaf_grad_kept && n != step_.backward_from) set(grads, n, 0);
  const bool target = std::find(step_.targets.begin(), step_.targets.end(), n) != step_.targets.end();
  if (!node.inputs.empty() && !target) set(values, n, 0);
}

// The nodes that allocated the most in the step, largest first.
std::string format_allocations(std::vector<NodeMemory> nodes, std::size_t max_rows) {
  std::erase_if(nodes, [](const NodeMemory& n) { return n.allocated_bytes() == 0; });
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const NodeMemory& a, const NodeMemory& b) { return a.allocated_bytes() > b.allocated_bytes(); });
  auto bytes = [](std::int64_t b) { return format_bytes(static_cast<double>(b)); };
  std::vector<std::vector<std::string>> cells;
  for (std::size_t i = 0; i < nodes.size() && i < max_rows; ++i) {
    const NodeMemory& n = nodes[i];
    cells.push_back({n.label, n.op, bytes(n.leaf ? 0 : n.forward_bytes), bytes(n.backward_bytes), bytes(n.allocated_bytes())});
  }
  std::string out = "allocated per node (value forward, gradients sent backward), largest first:\n";
  out += render_table({"node", "op", "forward", "backward", "total"}, cells);
  if (nodes.size() > max_rows) out += fmt::format("({} more nodes)\n", nodes.size() - max_rows);
  return out;
}

}  // namespace

MemoryReport memory_report(const Profile& p, int step) {
  if (step < 0) step = static_cast<int>(p.steps.size()) - 1;
  if (step < 0 || static_cast<std::size_t>(step) >= p.steps.size())
    throw Error(fmt::format("[profiler] no recorded step {} (the profile holds {})", step, p.steps.size()));
  const StepRecord& s = p.steps[static_cast<std::size_t>(step)];
  const Graph& g = *s.graph;
  auto [begin, end] = p.step_nodes(step);

  MemoryReport r;
  r.step = step;
  std::vector<NodeMemory> per_node(g.size());
  std::vector<char> ran(g.size(), 0);
  for (const NodeRecord* rec = begin; rec != end; ++rec) {
    const auto i = static_cast<std::size_t>(rec->node);
    (rec->phase == Phase::forward ? per_node[i].forward_bytes : per_node[i].backward_bytes) += rec->bytes_out;
    if (rec->phase == Phase::forward && g.node(rec->node).inputs.empty()) r.resident_bytes += value_bytes(g, rec->node);
    r.measured_peak_bytes = std::max(r.measured_peak_bytes, rec->live_bytes - s.base_live_bytes);
    ran[i] = 1;
  }
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (!ran[i]) continue;
    const Node& node = g.node(static_cast<NodeId>(i));
    per_node[i].node = static_cast<NodeId>(i);
    per_node[i].label = node.label;
    per_node[i].op = node.op->name();
    per_node[i].leaf = node.inputs.empty();
    r.per_node.push_back(std::move(per_node[i]));
  }

  Replay replay(s, begin, end);
  const std::int64_t at = replay.run(-1);
  if (at < 0) return r;
  replay.run(at);  // stop at the peak and look at what is alive
  r.peak_bytes = replay.peak;
  r.peak_node = replay.peak_node;
  r.peak_phase = replay.peak_phase;
  for (std::size_t i = 0; i < g.size(); ++i) {
    const std::string& label = g.node(static_cast<NodeId>(i)).label;
    if (replay.values[i] > 0) r.alive_at_peak.push_back({static_cast<NodeId>(i), label, false, replay.values[i]});
    if (replay.grads[i] > 0) r.alive_at_peak.push_back({static_cast<NodeId>(i), label, true, replay.grads[i]});
  }
  std::stable_sort(r.alive_at_peak.begin(), r.alive_at_peak.end(),
                   [](const LiveTensor& a, const LiveTensor& b) { return a.bytes > b.bytes; });
  return r;
}

std::string format_memory_report(const MemoryReport& r, std::size_t max_rows) {
  std::string out = fmt::format(
      "step {}: peak {} of values and gradients (simulated; measured {} in the whole process), "
      "resident leaves {}\n",
      r.step, format_bytes(static_cast<double>(r.peak_bytes)), format_bytes(static_cast<double>(r.measured_peak_bytes)),
      format_bytes(static_cast<double>(r.resident_bytes)));
  if (r.peak_node >= 0) out += fmt::format("reached in the {} of node {}; alive then:\n", phase_name(r.peak_phase), r.peak_node);
  std::vector<std::vector<std::string>> cells;
  for (std::size_t i = 0; i < r.alive_at_peak.size() && i < max_rows; ++i) {
    const LiveTensor& t = r.alive_at_peak[i];
    cells.push_back({t.label, t.gradient ? "gradient" : "value", format_bytes(static_cast<double>(t.bytes)),
                     format_percent(r.peak_bytes ? static_cast<double>(t.bytes) / static_cast<double>(r.peak_bytes) : 0)});
  }
  out += render_table({"tensor", "kind", "bytes", "of peak"}, cells);
  if (r.alive_at_peak.size() > max_rows) out += fmt::format("({} more tensors)\n", r.alive_at_peak.size() - max_rows);
  return out + format_allocations(r.per_node, max_rows);
}

}  // namespace attograd
