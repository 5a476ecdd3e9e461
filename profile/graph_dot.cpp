#include "profile/graph_dot.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "profile/profile_util.hpp"
#include "profile/profiler.hpp"

namespace attograd {

using namespace profile_util;

namespace {

// Scope path of a label: everything before the last '.'.
std::string scope_of(const std::string& label) {
  const std::size_t dot = label.rfind('.');
  return dot == std::string::npos ? std::string() : label.substr(0, dot);
}

std::string parent_of(const std::string& scope) { return scope_of(scope); }

// Mean measured time per node over the profile's steps of this graph.
std::vector<double> node_times(const Graph& g, const Profile* p) {
  std::vector<double> t(g.size(), 0.0);
  if (p == nullptr) return t;
  int steps = 0;
  for (const StepRecord& s : p->steps) steps += s.graph == &g;
  for (const NodeRecord& r : p->nodes)
    if (p->steps[static_cast<std::size_t>(r.step)].graph == &g)
      t[static_cast<std::size_t>(r.node)] += static_cast<double>(r.duration_ns()) / std::max(1, steps);
  return t;
}

class DotWriter {
 public:
  DotWriter(const Graph& g, const DotOptions& o) : g_(g), o_(o), times_(node_times(g, o.profile)) {
    max_time_ = *std::max_element(times_.begin(), times_.end());
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (!drawn(static_cast<NodeId>(i))) continue;
      std::string s = o.clusters ? scope_of(g.node(static_cast<NodeId>(i)).label) : std::string();
      members_[s].push_back(static_cast<NodeId>(i));
      // Make every ancestor scope exist, each listing its direct children.
      while (!s.empty()) {
        const std::string parent = parent_of(s);
        auto& kids = children_[parent];
        if (std::find(kids.begin(), kids.end(), s) == kids.end()) kids.push_back(s);
        s = parent;
      }
    }
  }

  void write(std::ostream& out) {
    out << "digraph attograd {\n  rankdir=TB;\n  compound=true;\n"
           "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n"
           "  edge [color=\"#555555\", arrowsize=0.6];\n";
    write_scope(out, "", 1);
    for (std::size_t i = 0; i < g_.size(); ++i) write_edges(out, static_cast<NodeId>(i));
    out << "}\n";
  }

 private:
  bool drawn(NodeId n) const { return o_.leaves || !g_.node(n).inputs.empty(); }

  void write_scope(std::ostream& out, const std::string& scope, int depth) {
    const std::string pad(2 * static_cast<std::size_t>(depth), ' ');
    for (NodeId n : members_[scope]) out << pad << node_line(n) << '\n';
    for (const std::string& child : children_[scope]) {
      out << pad << "subgraph \"cluster_" << cluster_id_++ << "\" {\n"
          << pad << "  label=\"" << escape_json(child) << "\"; style=\"rounded\"; color=\"#9999aa\";"
          << " fontname=\"Helvetica\"; fontsize=11;\n";
      write_scope(out, child, depth + 1);
      out << pad << "}\n";
    }
  }

  std::string node_line(NodeId n) const {
    const Node& node = g_.node(n);
    const std::string detail = node.op->describe();
    std::string label = detail.empty() ? node.op->name() : fmt::format("{}({})", node.op->name(), detail);
    label += fmt::format("\n{}\n{}", node.label, to_string(node.type));
    const double t = times_[static_cast<std::size_t>(n)];
    if (o_.profile != nullptr) label += fmt::format("\n{}", format_ns(t));
    return fmt::format("n{} [label=\"{}\", fillcolor=\"{}\"];", n, escape_json(label), fill(n, t));
  }

  // White (no time) to saturated red (the slowest node); leaves grey-blue.
  std::string fill(NodeId n, double t) const {
    if (o_.profile == nullptr || max_time_ <= 0)
      return g_.node(n).inputs.empty() ? "#dde6f0" : "#ffffff";
    const double s = std::sqrt(t / max_time_);
    return fmt::format("0.000 {:.3f} 1.000", 0.85 * s);
  }

  void write_edges(std::ostream& out, NodeId n) {
    const Node& node = g_.node(n);
    if (!drawn(n)) return;
    std::vector<char>& reach = grad_reachable();
    for (std::size_t slot = 0; slot < node.inputs.size(); ++slot) {
      const NodeId in = node.inputs[slot];
      if (!drawn(in)) continue;
      out << "  n" << in << " -> n" << n << ";\n";
      if (o_.backward_edges && reach[static_cast<std::size_t>(in)] && node.op->differentiable(slot))
        out << "  n" << n << " -> n" << in << " [style=dashed, color=\"#3366cc\", constraint=false];\n";
    }
  }

  // Nodes a gradient can reach: on a differentiable path from a requires_grad leaf.
  std::vector<char>& grad_reachable() {
    if (reach_.size() == g_.size()) return reach_;
    reach_.assign(g_.size(), 0);
    for (std::size_t i = 0; i < g_.size(); ++i) {
      const Node& node = g_.node(static_cast<NodeId>(i));
      reach_[i] = node.requires_grad;
      for (std::size_t slot = 0; slot < node.inputs.size(); ++slot)
        if (reach_[static_cast<std::size_t>(node.inputs[slot])] && node.op->differentiable(slot)) reach_[i] = 1;
    }
    return reach_;
  }

  const Graph& g_;
  const DotOptions& o_;
  std::vector<double> times_;
  double max_time_ = 0;
  std::map<std::string, std::vector<NodeId>> members_;
  std::map<std::string, std::vector<std::string>> children_;
  std::vector<char> reach_;
  int cluster_id_ = 0;
};

}  // namespace

void write_dot(const Graph& g, std::ostream& out, const DotOptions& options) {
  if (g.size() == 0) {
    out << "digraph attograd {\n}\n";
    return;
  }
  DotWriter(g, options).write(out);
}

void write_dot(const Graph& g, const std::string& path, const DotOptions& options) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) throw FileError(fmt::format("[dot] cannot open '{}' for writing", path));
  write_dot(g, f, options);
  f.close();
  if (!f) throw FileError(fmt::format("[dot] writing '{}' failed", path));
}

std::string to_dot(const Graph& g, const DotOptions& options) {
  std::ostringstream s;
  write_dot(g, s, options);
  return s.str();
}

}  // namespace attograd
