// gradcheck: compares the gradients backward() computes with central finite
// differences, in double precision (in float32 the differences are mostly
// rounding noise: PyTorch's own gradcheck fails on float32 matmul).
//
// The graph is built by `build` on f64 input leaves (and any parameters it
// creates, in an f64 store). The scalar checked is L = sum(out * W) for a
// fixed random W, so every output element matters. For every element x of
// every differentiable input and parameter:
//     numerical = (L(x + eps) - L(x - eps)) / (2 eps)
//     passes if |analytic - numerical| <= atol + rtol * |numerical|
//
//   auto r = gradcheck([](Graph&, const std::vector<Expr>& x) { return matmul(x[0], x[1]); },
//                      {{.shape = {2, 3}}, {.shape = {3, 4}}});
//   CHECK_MESSAGE(r.ok, r.report);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/graph.hpp"

namespace attograd {

struct GradcheckInput {
  Shape shape;
  DType dtype = DType::f64;   // i32 inputs (token ids) are fed, never differentiated
  double low = -1.0;          // random values uniform in [low, high) ...
  double high = 1.0;
  Tensor value;               // ... unless a value is given (converted to dtype)
  bool differentiable = true;
};

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-6;
  double rtol = 1e-4;
  std::uint64_t seed = 1;
  bool training = false;  // run ops in training mode (dropout masks are fixed by the seed)
};

struct GradcheckResult {
  bool ok = true;
  int checked = 0;           // elements compared
  double max_abs_error = 0;
  std::string report;        // the worst element, and every failure (up to 10)
};

using GraphBuilder = std::function<Expr(Graph& g, const std::vector<Expr>& inputs)>;

GradcheckResult gradcheck(const GraphBuilder& build, const std::vector<GradcheckInput>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace attograd
