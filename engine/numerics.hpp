// The --check-numerics report (used by the executor; not installed).
//
// When a node's output or a gradient it sends holds NaN or Inf, the executor
// throws NumericsError with a message naming the node, its op, scope label
// and phase, followed by one line of statistics per tensor the node read:
//
//   [numerics] backward of node 1 'norm.sqrt' (op sqrt) has NaN or Inf in its gradient for input 0
//   f32(2,) finite min 0.75 max 0.75 mean 0.75, 0 NaN, 1 Inf
//     input 0, node 0 'input' (x): f32(2,) finite min 0 max 4 mean 2, 0 NaN, 0 Inf
//     incoming gradient: f32(2,) finite min 3 max 3 mean 3, 0 NaN, 0 Inf
// (the first line wraps here only).
//
// min, max and mean are over the finite elements; NaN and Inf are counted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/executor.hpp"

namespace attograd {

struct TensorStats {
  std::int64_t finite = 0, nan = 0, inf = 0;
  double min = 0, max = 0, mean = 0;  // over the finite elements; 0 when there are none
};
TensorStats tensor_stats(const Tensor& t);

// "f32(2,) finite min 0 max 4 mean 2, 0 NaN, 0 Inf"; "not kept" for an undefined tensor.
std::string describe_stats(const Tensor& t);

// What the failing node read: its inputs and, in backward, the gradient it received.
struct NumericsInputs {
  std::vector<const Tensor*> inputs;
  const Tensor* grad_output = nullptr;  // backward only
};

// Throws the NumericsError for node n, whose `produced` tensor (its output
// in forward, a gradient it sends in backward) holds NaN or Inf.
[[noreturn]] void throw_numerics_error(const Graph& g, NodeId n, Phase phase, const Tensor& produced, const std::string& what,
                    const NumericsInputs& read);

}  // namespace attograd
