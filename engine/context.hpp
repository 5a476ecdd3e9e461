// OpContext: what an op sees while one of its nodes runs. Built by the
// executor for each node and phase; ops never hold on to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/graph.hpp"
#include "engine/parallel.hpp"
#include "engine/precision.hpp"

namespace attograd {

class ParameterStore;

// Per-run settings every node can read.
struct RunSettings {
  bool training = false;    // dropout active, etc.
  std::uint64_t seed = 0;   // keys counter-based randomness
  std::uint64_t step = 0;   // training step: dropout masks differ per step
  Precision precision = Precision::f32;  // bf16: products in mixed precision (engine/precision.hpp)
};

class OpContext {
 public:
  struct Wiring {  // filled by the executor
    const Graph* graph = nullptr;
    NodeId node = -1;
    std::vector<const Tensor*> inputs;
    const Tensor* output = nullptr;       // backward only
    const Tensor* grad_output = nullptr;  // backward only
    std::vector<bool> needs_grad;         // backward only
    std::vector<Tensor>* saved = nullptr;
    const Tensor* fed = nullptr;          // input leaves only
    ParameterStore* parameters = nullptr;
    const Parallel* parallel = nullptr;
    const RunSettings* settings = nullptr;
  };
  explicit OpContext(Wiring w) : w_(std::move(w)) {}

  std::size_t num_inputs() const { return w_.inputs.size(); }
  const Tensor& input(std::size_t i) const { return *w_.inputs.at(i); }
  // Input i's type, from the graph: known also where its value was freed
  // (a backward that does not read the input).
  const TensorType& input_type(std::size_t i) const {
    return w_.graph->node(w_.graph->node(w_.node).inputs.at(i)).type;
  }
  const TensorType& output_type() const { return w_.graph->node(w_.node).type; }
  Tensor allocate_output() const { return Tensor::empty(output_type().dtype, output_type().shape); }

  // Backward only: the node's forward value and the gradient of the loss
  // with respect to it; needs_grad(i) says whether input i wants a gradient.
  const Tensor& output() const { return *w_.output; }
  const Tensor& grad_output() const { return *w_.grad_output; }
  bool needs_grad(std::size_t i) const { return w_.needs_grad.at(i); }

  // Tensors forward() keeps for backward() (cleared after backward).
  std::vector<Tensor>& saved() const { return *w_.saved; }

  bool training() const { return w_.settings->training; }
  std::uint64_t seed() const { return w_.settings->seed; }
  std::uint64_t step() const { return w_.settings->step; }

  // The precision this node's products run in: the run's for f32 values,
  // f32 (that is, exact in their own dtype) for any other `values` dtype.
  // An op with bf16 kernels asks once per phase and computes as told; the
  // answer is recorded and reported to the observer (NodeEvent::precision),
  // so a profile shows what each node really ran in.
  Precision products_in(DType values) const {
    const Precision p = values == DType::f32 ? w_.settings->precision : Precision::f32;
    if (p != Precision::f32) ran_in_ = p;
    return p;
  }
  // The reduced precision a product of this node ran in, else f32.
  Precision ran_in() const { return ran_in_; }
  NodeId node_id() const { return w_.node; }
  const std::string& label() const { return w_.graph->node(w_.node).label; }
  const Graph& graph() const { return *w_.graph; }

  void parallel_for(std::int64_t n, std::int64_t grain, const BlockBody& body) const {
    w_.parallel->parallel_for(n, grain, body);
  }
  const Parallel& parallel() const { return *w_.parallel; }

  // For leaves: the store parameters live in, and the value fed to an input.
  ParameterStore& parameters() const;
  const Tensor& fed_value() const;

 private:
  Wiring w_;
  mutable Precision ran_in_ = Precision::f32;
};

}  // namespace attograd
