#include "engine/graph.hpp"

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {

std::string to_string(const TensorType& t) { return std::string(dtype_name(t.dtype)) + to_string(t.shape); }

const Node& Expr::node() const {
  if (graph == nullptr) throw Error("[expr] use of an empty Expr");
  return graph->node(id);
}

std::int64_t Expr::dim(int axis) const {
  return shape()[static_cast<std::size_t>(normalize_axis(axis, rank(), "expr"))];
}

Graph::Graph(ParameterStore* params, DType dtype) : params_(params), dtype_(dtype) {
  if (!is_floating(dtype)) throw Error("[graph] the graph dtype must be f32 or f64");
}

Graph::ScopeGuard::~ScopeGuard() {
  if (graph_ != nullptr) graph_->scopes_.resize(graph_->scopes_.size() - static_cast<std::size_t>(depth_));
}

Graph::ScopeGuard Graph::scope(const std::string& name) {
  if (name.empty() || name.find('.') != std::string::npos)
    throw Error(fmt::format("[graph] scope name '{}' must be non-empty and contain no '.'", name));
  scopes_.push_back(name);
  return ScopeGuard(this, 1);
}

Graph::ScopeGuard Graph::scope(const std::string& name, std::int64_t index) {
  if (index < 0) throw Error(fmt::format("[graph] scope index of '{}' must be >= 0, got {}", name, index));
  ScopeGuard outer = scope(name);
  scopes_.push_back(std::to_string(index));
  outer.graph_ = nullptr;
  return ScopeGuard(this, 2);
}

std::string Graph::scope_path() const { return fmt::format("{}", fmt::join(scopes_, ".")); }

std::string Graph::qualified(const std::string& name) const {
  return scopes_.empty() ? name : scope_path() + "." + name;
}

NodeId Graph::find_named_leaf(const std::string& key) const {
  auto it = named_leaves_.find(key);
  return it == named_leaves_.end() ? -1 : it->second;
}

Expr Graph::add(OpPtr op, const std::vector<Expr>& inputs, bool requires_grad) {
  if (!op) throw Error("[graph] add() with a null op");
  const std::string op_name = op->name();
  std::string label = qualified(op_name);
  if (int n = label_counts_[qualified(op->label_family())]++; n > 0) label += fmt::format("_{}", n);

  std::vector<TensorType> types;
  std::vector<NodeId> ids;
  for (const Expr& e : inputs) {
    if (e.graph != this)
      throw Error(fmt::format("[{}] at {}: an input belongs to another graph", op_name, label));
    types.push_back(e.type());
    ids.push_back(e.id);
  }

  TensorType type;
  try {
    type = op->infer(types);
  } catch (const ShapeError& e) {
    std::vector<std::string> shown;
    for (const auto& t : types) shown.push_back(to_string(t));
    throw ShapeError(fmt::format("{} (node '{}', inputs {})", e.what(), label, fmt::join(shown, ", ")));
  }
  nodes_.push_back(Node{std::move(op), std::move(ids), std::move(type), std::move(label), requires_grad});
  return {this, static_cast<NodeId>(nodes_.size() - 1)};
}

}  // namespace attograd
