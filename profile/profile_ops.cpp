// The per-op table and the per-scope roll-up.
#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "profile/profile_report.hpp"
#include "profile/profile_util.hpp"

namespace attograd {

using namespace profile_util;

namespace {

std::int64_t recorded_wall_ns(const Profile& p) {
  std::int64_t wall = 0;
  for (const StepRecord& s : p.steps) wall += s.wall_ns();
  return wall;
}

void add_call(OpStats& row, std::int64_t ns) {
  ++row.calls;
  row.total_ns += ns;
  row.max_ns = std::max(row.max_ns, ns);
}

}  // namespace

std::vector<OpStats> op_table(const Profile& p) {
  CostCache costs;
  std::map<std::tuple<std::string, std::string, std::string>, OpStats> rows;
  for (const NodeRecord& r : p.nodes) {
    const Graph& g = *p.steps[static_cast<std::size_t>(r.step)].graph;
    const Node& node = g.node(r.node);
    const Cost& c = costs.of(g)[static_cast<std::size_t>(r.node)];
    const bool fwd = r.phase == Phase::forward;
    OpStats& row = rows[{node.op->name(), phase_name(r.phase), precision_name(r.precision)}];
    add_call(row, r.duration_ns());
    row.flops += fwd ? c.forward_flops : c.backward_flops;
    row.bytes_moved += fwd ? c.forward_bytes : c.backward_bytes;
    row.bytes_out += r.bytes_out;
  }
  for (const SpanRecord& s : p.spans) add_call(rows[{s.name, "span", ""}], s.end_ns - s.start_ns);

  const double wall = static_cast<double>(recorded_wall_ns(p));
  std::vector<OpStats> out;
  for (auto& [key, row] : rows) {
    row.op = std::get<0>(key);
    row.phase = std::get<1>(key);
    row.precision = std::get<2>(key);
    row.share = wall > 0 ? static_cast<double>(row.total_ns) / wall : 0;
    out.push_back(std::move(row));
  }
  std::stable_sort(out.begin(), out.end(), [](const OpStats& a, const OpStats& b) { return a.total_ns > b.total_ns; });
  return out;
}

std::string format_op_table(const std::vector<OpStats>& rows, std::size_t max_rows) {
  std::vector<std::vector<std::string>> cells;
  for (std::size_t i = 0; i < rows.size() && i < max_rows; ++i) {
    const OpStats& r = rows[i];
    cells.push_back({r.op, r.phase, r.precision, std::to_string(r.calls), format_ns(static_cast<double>(r.total_ns)),
                     format_ns(r.mean_ns()), format_ns(static_cast<double>(r.max_ns)), format_percent(r.share),
                     format_count(r.flops), fmt::format("{:.2f}", r.gflops_per_s()), format_bytes(r.bytes_moved),
                     format_bytes(static_cast<double>(r.bytes_out))});
  }
  std::string out = render_table(
      {"op", "phase", "precision", "calls", "total", "mean", "max", "share", "flops", "GFLOP/s", "moved", "produced"}, cells);
  if (rows.size() > max_rows) out += fmt::format("({} more rows)\n", rows.size() - max_rows);
  return out;
}

std::vector<ScopeStats> scope_rollup(const Profile& p, ScopeOrder order, int max_depth) {
  CostCache costs;
  std::map<std::string, ScopeStats> scopes;
  auto add = [&](const std::string& scope, int depth, const NodeRecord& r, double flops) {
    ScopeStats& s = scopes[scope];
    s.depth = depth;
    ++s.calls;
    (r.phase == Phase::forward ? s.forward_ns : s.backward_ns) += r.duration_ns();
    s.flops += flops;
  };
  for (const NodeRecord& r : p.nodes) {
    const Graph& g = *p.steps[static_cast<std::size_t>(r.step)].graph;
    const std::string& label = g.node(r.node).label;
    const Cost& c = costs.of(g)[static_cast<std::size_t>(r.node)];
    const double flops = r.phase == Phase::forward ? c.forward_flops : c.backward_flops;
    add("", 0, r, flops);
    // Every proper prefix ending before a '.': the last component is the node.
    int depth = 0;
    for (std::size_t dot = label.find('.'); dot != std::string::npos; dot = label.find('.', dot + 1))
      add(label.substr(0, dot), ++depth, r, flops);
  }
  const double root = scopes.count("") ? static_cast<double>(scopes[""].total_ns()) : 0;
  std::vector<ScopeStats> out;
  for (auto& [name, s] : scopes) {
    if (max_depth > 0 && s.depth > max_depth) continue;
    s.scope = name;
    s.share = root > 0 ? static_cast<double>(s.total_ns()) / root : 0;
    out.push_back(std::move(s));
  }
  if (order == ScopeOrder::by_time)
    std::stable_sort(out.begin(), out.end(),
                     [](const ScopeStats& a, const ScopeStats& b) { return a.total_ns() > b.total_ns(); });
  return out;  // std::map order is by name, parents before children
}

std::string format_scope_rollup(const std::vector<ScopeStats>& rows, std::size_t max_rows) {
  std::vector<std::vector<std::string>> cells;
  for (std::size_t i = 0; i < rows.size() && i < max_rows; ++i) {
    const ScopeStats& s = rows[i];
    cells.push_back({s.scope.empty() ? "(all)" : s.scope, std::to_string(s.calls),
                     format_ns(static_cast<double>(s.forward_ns)), format_ns(static_cast<double>(s.backward_ns)),
                     format_ns(static_cast<double>(s.total_ns())), format_percent(s.share), format_count(s.flops)});
  }
  std::string out = render_table({"scope", "calls", "forward", "backward", "total", "share", "flops"}, cells);
  if (rows.size() > max_rows) out += fmt::format("({} more rows)\n", rows.size() - max_rows);
  return out;
}

}  // namespace attograd
