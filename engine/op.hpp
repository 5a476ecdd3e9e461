// The op contract. Every op — built in, in-process plugin or run-time plugin —
// is an immutable object implementing these few virtuals; the engine, the
// executors and the profiler only ever talk to ops through them.
//
// Writing an op (see ops/elementwise.* for small complete examples):
//   - infer():    validate input types, return the output type. Throw
//                 ShapeError with a message starting "[name]"; the graph adds
//                 the node's scope label and the input shapes.
//   - forward():  read ctx.input(i), return a new Tensor of the inferred type.
//   - backward(): given ctx.grad_output() (same shape as the output), return
//                 one gradient per input (an undefined Tensor for "none").
//                 A gradient may have the *broadcast* shape of the output:
//                 the engine sums it down to the input's shape.
//   - cost():     flops and bytes moved by forward and by backward, for the
//                 profiler. Defaults to zero.
// Kernels are templates over float and double (gradcheck runs in double).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/dtype.hpp"
#include "engine/shape.hpp"
#include "engine/tensor.hpp"

namespace attograd {

class OpContext;

// What a node produces: the dtype and shape of its value.
struct TensorType {
  DType dtype = DType::f32;
  Shape shape;
  bool operator==(const TensorType&) const = default;
};
std::string to_string(const TensorType& t);  // "f32(2, 3)"

// Work done by one node, for the profiler (flops = multiply-adds count 2).
struct Cost {
  double forward_flops = 0;
  double backward_flops = 0;
  double forward_bytes = 0;   // bytes read + written
  double backward_bytes = 0;
};

class Op {
 public:
  virtual ~Op() = default;

  // Short lowercase name ("matmul"); used in errors, profiles and the registry.
  virtual std::string name() const = 0;

  // Output type for these input types; throws ShapeError if they are invalid.
  virtual TensorType infer(std::span<const TensorType> inputs) const = 0;

  virtual Tensor forward(OpContext& ctx) const = 0;

  // One entry per input; undefined where there is no gradient.
  virtual std::vector<Tensor> backward(OpContext& ctx) const = 0;

  virtual Cost cost(std::span<const TensorType> /*inputs*/, const TensorType& /*output*/) const { return {}; }

  // False for inputs no gradient can flow to (token ids, masks, indices).
  virtual bool differentiable(std::size_t /*input*/) const { return true; }

  // Which values backward() reads. The executor frees every other value as
  // soon as the forward pass no longer needs it.
  virtual bool backward_reads_input(std::size_t /*input*/) const { return true; }
  virtual bool backward_reads_output() const { return true; }

  // Attributes rendered for profiles and DOT labels ("axis=-1").
  virtual std::string describe() const { return {}; }

  // Ops of one family number their nodes together within a scope: a node
  // is labelled name() plus "_n" when n nodes of its family came before it
  // there ("s.dropout", "s.dropout_add_1", "s.dropout_2"). A fused op that
  // keys randomness by the label of the op it replaces (dropout_add draws
  // dropout's mask) names that op's family, so no two nodes share a key.
  virtual std::string label_family() const { return name(); }
};

using OpPtr = std::shared_ptr<const Op>;

}  // namespace attograd
