// The graph: an append-only list of nodes. Creation order is a topological
// order (a node's inputs always exist before it). The graph is passive: it
// holds structure and types, never values; executors own run state.
//
//   Graph g(&params);
//   auto s = g.scope("encoder");            // labels: "encoder.<op>"
//   Expr x = input(g, "x", {DType::f32, {B, S, D}});
//   Expr y = relu(x);                       // shape inferred here, or ShapeError
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/op.hpp"

namespace attograd {

class ParameterStore;
using NodeId = std::int32_t;

struct Node {
  OpPtr op;
  std::vector<NodeId> inputs;
  TensorType type;
  std::string label;           // scope path + op name: "encoder.layers.0.self_attn.softmax"
  bool requires_grad = false;  // leaves only: gradients flow back to this node
};

class Graph;

// The user's handle on a node: every builder function takes and returns these.
struct Expr {
  Graph* graph = nullptr;
  NodeId id = -1;

  // False for a default Expr: "no tensor given" (an optional mask, say).
  bool defined() const { return graph != nullptr; }
  const Node& node() const;
  const TensorType& type() const { return node().type; }
  const Shape& shape() const { return node().type.shape; }
  DType dtype() const { return node().type.dtype; }
  std::size_t rank() const { return shape().size(); }
  std::int64_t dim(int axis) const;
};

class Graph {
 public:
  // `params` is where parameter() leaves find and create their tensors; it
  // may be null for graphs without parameters. `dtype` is the floating type
  // parameters and builders use (f64 for gradient checks).
  explicit Graph(ParameterStore* params = nullptr, DType dtype = DType::f32);
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Appends a node after inferring its type. On invalid inputs throws
  // ShapeError naming the op, the node's label and every input type.
  Expr add(OpPtr op, const std::vector<Expr>& inputs, bool requires_grad = false);

  const Node& node(NodeId id) const { return nodes_.at(static_cast<std::size_t>(id)); }
  const std::vector<Node>& nodes() const { return nodes_; }
  std::size_t size() const { return nodes_.size(); }
  Expr expr(NodeId id) { return {this, id}; }

  // Scopes name nodes and parameters. Nested guards join with '.'.
  class ScopeGuard {
   public:
    ScopeGuard(ScopeGuard&& other) noexcept : graph_(other.graph_), depth_(other.depth_) { other.graph_ = nullptr; }
    ScopeGuard(const ScopeGuard&) = delete;
    ~ScopeGuard();
   private:
    friend class Graph;
    ScopeGuard(Graph* g, int depth) : graph_(g), depth_(depth) {}
    Graph* graph_;
    int depth_;  // scope names pushed
  };
  [[nodiscard]] ScopeGuard scope(const std::string& name);
  // An indexed scope, "name.index": g.scope("layers", 2) -> "...layers.2".
  [[nodiscard]] ScopeGuard scope(const std::string& name, std::int64_t index);
  std::string scope_path() const;                        // "encoder.layers.0"
  std::string qualified(const std::string& name) const;  // scope_path() + "." + name

  ParameterStore* parameters() const { return params_; }
  DType dtype() const { return dtype_; }

  // Leaf bookkeeping used by engine/leaves.cpp.
  NodeId find_named_leaf(const std::string& key) const;
  void remember_named_leaf(const std::string& key, NodeId id) { named_leaves_[key] = id; }

 private:
  std::vector<Node> nodes_;
  std::vector<std::string> scopes_;
  std::map<std::string, int> label_counts_;
  std::map<std::string, NodeId> named_leaves_;
  ParameterStore* params_;
  DType dtype_;
};

}  // namespace attograd
