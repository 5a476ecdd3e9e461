// Graphs for executor tests:
//   random_graph(g, x, seed, nodes)    a DAG of `nodes` ops over x (4, 8)
//   run_random(seed, backend, threads) its loss and every gradient, one run
//   FailOnValue                        an op whose kernel throws on input 13
// The executor tests compare backends on them, bit for bit; the std::thread
// backend's ThreadSanitizer test (test_executor_threads) does too.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/executor.hpp"
#include "engine/graph.hpp"
#include "engine/op.hpp"

namespace attograd::testing {

// A random DAG of `nodes` nodes over x (4, 8) and broadcast (8,) / (4, 1)
// parameters: every node picks random earlier nodes as inputs (fan-out), ops
// mix broadcasting, reductions and reshapes. Returns a scalar loss that every
// node reaches.
Expr random_graph(Graph& g, Expr x, std::uint32_t seed, int nodes);

struct RunResult {
  Tensor loss;
  Tensor input_grad;
  std::vector<Tensor> param_grads;
};

// Builds random_graph(seed, nodes) with fresh parameters and input, runs one
// forward and backward on `backend` with `threads` threads.
RunResult run_random(std::uint32_t seed, Backend backend, int threads, int nodes = 300);

// Loss, input gradient and every parameter gradient are bit-identical.
bool bit_equal(const RunResult& a, const RunResult& b);

// Identity whose forward throws std::runtime_error("unlucky input") when its
// input's first element is exactly 13.
class FailOnValue final : public Op {
 public:
  std::string name() const override { return "fail_on_value"; }
  TensorType infer(std::span<const TensorType> in) const override { return in[0]; }
  Tensor forward(OpContext& c) const override;
  std::vector<Tensor> backward(OpContext& c) const override;
};

}  // namespace attograd::testing
