// Test helpers every op test uses:
//   check_gradcheck(build, inputs)        finite differences in f64 (engine/gradcheck)
//   check_backends_agree(build, inputs)   values and gradients bit-identical for the
//                                         sequential executor, TBB with 1, 2 and 4
//                                         threads, and the std::thread backend (in
//                                         the run precision given: f32 or bf16)
//   run_forward(build, inputs)            the f32/f64 output of one sequential run
//   run_all(build, inputs, dtype, ...)    the output and every gradient of one run
//   uniform_input / fixed_input           input specs: random or given values
//   check_close(tensor, values)           element-wise comparison
// Every registered op is also checked on its declared samples by
// tests/ops/test_registered_ops.cpp.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/executor.hpp"
#include "engine/gradcheck.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"

namespace attograd::testing {

// Random values for `spec` (uniform in [low, high)) in `dtype`, unless it has one.
Tensor make_value(const GradcheckInput& spec, DType float_dtype, std::uint64_t seed, std::size_t index);

// Builds the graph in `dtype`, runs forward (+ backward from sum(out * w))
// and returns the output followed by every input and parameter gradient.
std::vector<Tensor> run_all(const GraphBuilder& build, const std::vector<GradcheckInput>& inputs, DType dtype,
                            Backend backend, int threads, bool training = false,
                            Precision precision = Precision::f32);

// Output of a forward run (sequential executor).
Tensor run_forward(const GraphBuilder& build, const std::vector<GradcheckInput>& inputs, DType dtype = DType::f32,
                   bool training = false);

void check_gradcheck(const GraphBuilder& build, const std::vector<GradcheckInput>& inputs,
                     const GradcheckOptions& options = {});
void check_backends_agree(const GraphBuilder& build, const std::vector<GradcheckInput>& inputs,
                          bool training = false, Precision precision = Precision::f32);

// Input specs: uniform random values in [low, high), or exactly `values`.
inline GradcheckInput uniform_input(Shape shape, double low = -1, double high = 1) {
  return {.shape = std::move(shape), .low = low, .high = high, .value = {}};
}
inline GradcheckInput fixed_input(const Shape& shape, const std::vector<double>& values, bool differentiable = true) {
  return {.shape = shape, .value = Tensor::from<double>(shape, values), .differentiable = differentiable};
}

// Element-wise |a - b| <= tol for tensors of the same shape.
void check_close(const Tensor& actual, const std::vector<double>& expected, double tol = 1e-6);

}  // namespace attograd::testing
