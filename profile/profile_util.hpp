// Helpers shared by the profile reports and writers (not a public API).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/graph.hpp"

namespace attograd::profile_util {

// Op::cost of every node of a graph, computed once per graph.
class CostCache {
 public:
  const std::vector<Cost>& of(const Graph& g);
 private:
  std::map<const Graph*, std::vector<Cost>> costs_;
};
Cost node_cost(const Graph& g, NodeId id);

// "12.3 ms", "4.56 us", "789 ns".
std::string format_ns(double ns);
// "1.50 MiB", "12 B".
std::string format_bytes(double bytes);
// "3.20 G", "15.0 M", "120".
std::string format_count(double n);
std::string format_percent(double share);

// A plain text table: columns padded to their widest cell; the first column
// is left-aligned, the others right-aligned.
std::string render_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// JSON/DOT-safe text: the characters that need it escaped with a backslash,
// control characters as \u00XX.
std::string escape_json(const std::string& s);

}  // namespace attograd::profile_util
