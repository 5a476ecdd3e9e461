#include "engine/leaves.hpp"

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"

namespace attograd {
namespace {

class InputOp final : public Op {
 public:
  InputOp(std::string name, TensorType type) : name_(std::move(name)), type_(std::move(type)) {}
  std::string name() const override { return "input"; }
  std::string describe() const override { return name_; }
  TensorType infer(std::span<const TensorType>) const override { return type_; }
  Tensor forward(OpContext& ctx) const override {
    const Tensor& v = ctx.fed_value();
    if (v.dtype() != type_.dtype || v.shape() != type_.shape)
      throw Error(fmt::format("[input] '{}' expects {}, was fed {}{}", name_, to_string(type_), dtype_name(v.dtype()),
                              to_string(v.shape())));
    return v;
  }
  std::vector<Tensor> backward(OpContext&) const override { return {}; }
  const std::string& input_name() const { return name_; }

 private:
  std::string name_;
  TensorType type_;
};

class ParameterOp final : public Op {
 public:
  ParameterOp(std::string name, TensorType type) : name_(std::move(name)), type_(std::move(type)) {}
  std::string name() const override { return "parameter"; }
  std::string describe() const override { return name_; }
  TensorType infer(std::span<const TensorType>) const override { return type_; }
  Tensor forward(OpContext& ctx) const override { return ctx.parameters().at(name_).value; }
  // The gradient reaching a parameter is added into the store: one node per
  // parameter per graph, so no two tasks ever write the same gradient.
  std::vector<Tensor> backward(OpContext& ctx) const override {
    Tensor& acc = ctx.parameters().at(name_).grad;
    const Tensor& g = ctx.grad_output();
    constexpr std::int64_t kGrain = 1 << 15;  // elements per block; elementwise, so any split gives the same bits
    visit_floating(acc.dtype(), [&]<class T>(T) {
      T* a = acc.data<T>();
      const T* d = g.data<T>();
      ctx.parallel_for(acc.numel(), kGrain, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) a[i] += d[i];
      });
    });
    return {};
  }

 private:
  std::string name_;
  TensorType type_;
};

class ConstantOp final : public Op {
 public:
  explicit ConstantOp(Tensor value) : value_(std::move(value)) {}
  std::string name() const override { return "constant"; }
  TensorType infer(std::span<const TensorType>) const override { return {value_.dtype(), value_.shape()}; }
  Tensor forward(OpContext&) const override { return value_; }
  std::vector<Tensor> backward(OpContext&) const override { return {}; }

 private:
  Tensor value_;
};

// Graph::find_named_leaf's key of a parameter's node.
std::string parameter_key(const std::string& full_name) { return "parameter:" + full_name; }

}  // namespace

// Leaves are labelled by their op ("input", "parameter_2"); their messages
// name them by what the user wrote, the input's or parameter's own name.
ParameterStore& OpContext::parameters() const {
  if (w_.parameters == nullptr)
    throw Error(fmt::format("[parameter] '{}': the graph was built without a ParameterStore",
                            w_.graph->node(w_.node).op->describe()));
  return *w_.parameters;
}

const Tensor& OpContext::fed_value() const {
  if (w_.fed == nullptr) {
    const Node& node = w_.graph->node(w_.node);
    throw Error(fmt::format("[input] no value was fed for input '{}' ({}, node {}): the feeds need one",
                            node.op->describe(), to_string(node.type), w_.node));
  }
  return *w_.fed;
}

Expr input(Graph& g, const std::string& name, const TensorType& type, bool requires_grad) {
  if (requires_grad && !is_floating(type.dtype))
    throw Error(fmt::format("[input] '{}' is {}: only floating inputs can require gradients", name,
                            dtype_name(type.dtype)));
  return g.add(std::make_shared<InputOp>(name, type), {}, requires_grad);
}

Expr parameter(Graph& g, const std::string& name, const Shape& shape, const Init& init) {
  ParameterStore* store = g.parameters();
  if (store == nullptr) throw Error(fmt::format("[parameter] '{}': the graph has no ParameterStore", name));
  const std::string full = g.qualified(name);
  const std::string key = parameter_key(full);
  if (NodeId id = g.find_named_leaf(key); id >= 0) {
    if (g.node(id).type.shape != shape)
      throw ShapeError(fmt::format("[parameter] '{}' is used with shapes {} and {}", full,
                                   to_string(g.node(id).type.shape), to_string(shape)));
    return g.expr(id);
  }
  const Parameter& p = store->get_or_create(full, g.dtype(), shape, init);
  Expr e = g.add(std::make_shared<ParameterOp>(full, TensorType{g.dtype(), shape}), {}, p.trainable);
  g.remember_named_leaf(key, e.id);
  return e;
}

NodeId parameter_node(const Graph& g, const std::string& name) { return g.find_named_leaf(parameter_key(name)); }

Expr constant(Graph& g, Tensor value) { return g.add(std::make_shared<ConstantOp>(std::move(value)), {}); }

std::string input_name(const Node& node) {
  if (const auto* in = dynamic_cast<const InputOp*>(node.op.get())) return in->input_name();
  return {};
}

}  // namespace attograd
