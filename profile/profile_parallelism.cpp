// The parallelism report: how much of the step's wall time the dependency
// structure forces (the critical path), and how busy the workers were.
//
// Critical path: the longest chain of measured durations through the step's
// dependencies — forward edges input -> node, node's forward -> its backward,
// and backward edges consumer -> input (a node's backward waits for every
// consumer's). Each node on a chain starts after its predecessor ended and
// every pass runs inside its measured wall time, so the path can never be
// longer than the forward + backward wall time.
#include <algorithm>

#include <fmt/format.h>

#include "profile/profile_report.hpp"
#include "profile/profile_util.hpp"

namespace attograd {

using namespace profile_util;

namespace {

struct StepPath {
  std::int64_t length = 0;
  std::vector<PathNode> nodes;
};

StepPath critical_path(const Graph& g, const NodeRecord* begin, const NodeRecord* end) {
  const std::size_t n = g.size();
  // dur[phase][node]: -1 where the node did not run in that phase.
  std::vector<std::int64_t> dur[2] = {std::vector<std::int64_t>(n, -1), std::vector<std::int64_t>(n, -1)};
  for (const NodeRecord* r = begin; r != end; ++r) {
    auto& d = dur[static_cast<int>(r->phase)][static_cast<std::size_t>(r->node)];
    d = std::max(d, r->duration_ns());
  }
  // dist: longest chain ending with this (node, phase); pred: where it came from.
  std::vector<std::int64_t> dist[2] = {std::vector<std::int64_t>(n, 0), std::vector<std::int64_t>(n, 0)};
  std::vector<std::pair<NodeId, int>> pred[2] = {std::vector<std::pair<NodeId, int>>(n, {-1, 0}),
                                                 std::vector<std::pair<NodeId, int>>(n, {-1, 0})};
  std::vector<std::vector<NodeId>> consumers(n);
  auto relax = [&](int ph, std::size_t i, NodeId from, int from_ph) {
    if (dur[from_ph][static_cast<std::size_t>(from)] < 0) return;
    const std::int64_t via = dist[from_ph][static_cast<std::size_t>(from)];
    if (pred[ph][i].first < 0 || via > dist[ph][i]) {
      dist[ph][i] = via;
      pred[ph][i] = {from, from_ph};
    }
  };
  for (std::size_t i = 0; i < n; ++i) {
    for (NodeId in : g.node(static_cast<NodeId>(i)).inputs) {
      consumers[static_cast<std::size_t>(in)].push_back(static_cast<NodeId>(i));
      relax(0, i, in, 0);
    }
    dist[0][i] += std::max<std::int64_t>(dur[0][i], 0);
  }
  for (std::size_t i = n; i-- > 0;) {
    if (dur[1][i] < 0) continue;
    relax(1, i, static_cast<NodeId>(i), 0);
    for (NodeId c : consumers[i]) relax(1, i, c, 1);
    dist[1][i] += dur[1][i];
  }
  StepPath path;
  std::pair<NodeId, int> at{-1, 0};
  for (int ph = 0; ph < 2; ++ph)
    for (std::size_t i = 0; i < n; ++i)
      if (dur[ph][i] >= 0 && dist[ph][i] > path.length) {
        path.length = dist[ph][i];
        at = {static_cast<NodeId>(i), ph};
      }
  for (; at.first >= 0; at = pred[at.second][static_cast<std::size_t>(at.first)]) {
    const auto ph = static_cast<Phase>(at.second);
    path.nodes.push_back({at.first, ph, dur[at.second][static_cast<std::size_t>(at.first)]});
  }
  std::reverse(path.nodes.begin(), path.nodes.end());
  return path;
}

// Adds each worker's busy time in one step: the union of its records'
// intervals (a worker waiting inside a kernel may run another node nested).
void add_worker_usage(ParallelismReport& r, const StepRecord& s, const NodeRecord* begin, const NodeRecord* end) {
  const int lanes = std::max(s.workers, static_cast<int>(r.workers.size()));
  while (static_cast<int>(r.workers.size()) < lanes) r.workers.push_back({static_cast<int>(r.workers.size())});
  std::vector<std::int64_t> busy(static_cast<std::size_t>(lanes), 0), reach(static_cast<std::size_t>(lanes), INT64_MIN);
  for (const NodeRecord* rec = begin; rec != end; ++rec) {  // in start order
    const auto w = static_cast<std::size_t>(std::max(0, rec->worker));
    if (w >= busy.size()) continue;
    const std::int64_t from = std::max(rec->start_ns, reach[w]);
    if (rec->end_ns > from) busy[w] += rec->end_ns - from;
    reach[w] = std::max(reach[w], rec->end_ns);
    ++r.workers[w].nodes;
  }
  for (std::size_t w = 0; w < busy.size(); ++w) {
    r.workers[w].busy_ns += busy[w];
    r.workers[w].idle_ns += std::max<std::int64_t>(0, s.pass_ns() - busy[w]);
  }
}

}  // namespace

ParallelismReport parallelism_report(const Profile& p) {
  ParallelismReport r;
  for (std::size_t k = 0; k < p.steps.size(); ++k) {
    const StepRecord& s = p.steps[k];
    auto [begin, end] = p.step_nodes(static_cast<int>(k));
    StepPath path = critical_path(*s.graph, begin, end);
    r.critical_path_ns += path.length;
    r.wall_ns += s.pass_ns();
    for (const NodeRecord* rec = begin; rec != end; ++rec) r.work_ns += rec->duration_ns();
    add_worker_usage(r, s, begin, end);
    r.graph = s.graph;
    r.critical_path = std::move(path.nodes);
    ++r.steps;
  }
  std::int64_t busy = 0;
  for (const WorkerUsage& w : r.workers) busy += w.busy_ns;
  r.average_concurrency = r.wall_ns > 0 ? static_cast<double>(busy) / static_cast<double>(r.wall_ns) : 0;
  return r;
}

std::string format_parallelism_report(const ParallelismReport& r, std::size_t max_path_rows) {
  auto ns = [](std::int64_t v) { return format_ns(static_cast<double>(v)); };
  std::string out = fmt::format(
      "{} step(s): wall {} in passes, critical path {} ({} of wall), work {}; "
      "{:.2f} nodes running on average, at most {:.2f}x from more workers\n",
      r.steps, ns(r.wall_ns), ns(r.critical_path_ns),
      format_percent(r.wall_ns ? static_cast<double>(r.critical_path_ns) / static_cast<double>(r.wall_ns) : 0),
      ns(r.work_ns), r.average_concurrency, r.max_speedup());
  std::vector<std::vector<std::string>> cells;
  for (const WorkerUsage& w : r.workers)
    cells.push_back({fmt::format("worker {}", w.worker), std::to_string(w.nodes), ns(w.busy_ns), ns(w.idle_ns)});
  out += render_table({"thread", "nodes", "busy", "idle"}, cells);
  if (r.graph == nullptr || r.critical_path.empty()) return out;
  out += "critical path of the last step:\n";
  cells.clear();
  for (std::size_t i = 0; i < r.critical_path.size() && i < max_path_rows; ++i) {
    const PathNode& n = r.critical_path[i];
    const Node& node = r.graph->node(n.node);
    cells.push_back({node.label, node.op->name(), phase_name(n.phase), ns(n.duration_ns)});
  }
  out += render_table({"node", "op", "phase", "time"}, cells);
  if (r.critical_path.size() > max_path_rows)
    out += fmt::format("({} more nodes)\n", r.critical_path.size() - max_path_rows);
  return out;
}

}  // namespace attograd
