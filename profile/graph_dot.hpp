// Graphviz DOT of a graph: one box per node labelled with its op (and
// attributes), scope label and output type; one cluster per scope prefix so
// that a Transformer reads layer by layer. Given a Profile, boxes are
// coloured from white to red by measured time and show it.
//
//   write_dot(g, "model.dot", {.profile = &p});
//   $ dot -Tsvg model.dot -o model.svg
#pragma once

#include <iosfwd>
#include <string>

#include "engine/graph.hpp"

namespace attograd {

struct Profile;

struct DotOptions {
  const Profile* profile = nullptr;  // colour by time of this graph's recorded steps (mean per step)
  bool clusters = true;              // a box around each scope
  bool backward_edges = false;       // also dashed edges along which gradients flow back
  bool leaves = true;                // draw parameters, inputs and constants
};

void write_dot(const Graph& g, std::ostream& out, const DotOptions& options = {});
// Writes to a file; throws FileError if it cannot be written.
void write_dot(const Graph& g, const std::string& path, const DotOptions& options = {});
std::string to_dot(const Graph& g, const DotOptions& options = {});

}  // namespace attograd
