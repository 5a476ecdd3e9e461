// Leaves: the nodes without inputs. They are ops like any other.
//
//   Expr ids = input(g, "src", {DType::i32, {B, S}});          // fed per run
//   Expr x   = input(g, "x", {DType::f64, {3}}, /*requires_grad=*/true);
//   Expr w   = parameter(g, "weight", {D_out, D_in}, Init::xavier_uniform());
//   Expr c   = constant(g, Tensor::full(DType::f32, {1}, 0.5));
#pragma once

#include <string>

#include "engine/graph.hpp"
#include "engine/parameters.hpp"

namespace attograd {

// A value supplied in Feeds for every run; its dtype and shape must match.
Expr input(Graph& g, const std::string& name, const TensorType& type, bool requires_grad = false);

// The parameter named g.qualified(name) in the graph's ParameterStore, created
// with `init` if absent, in the graph's dtype. One node per parameter per
// graph: asking twice returns the same node (weight tying works).
Expr parameter(Graph& g, const std::string& name, const Shape& shape, const Init& init);

// The node of the store's parameter `name` (its full, qualified name) in
// `g`, or -1 when the graph does not use it. Each parameter has at most one
// node per graph, whose backward adds the graph's gradient into the store:
// once it has run, the parameter's gradient from this graph is complete.
NodeId parameter_node(const Graph& g, const std::string& name);

// A fixed tensor held by the graph.
Expr constant(Graph& g, Tensor value);

// The name an input leaf was created with, or "" for other nodes.
std::string input_name(const Node& node);

}  // namespace attograd
