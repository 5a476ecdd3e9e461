// Helpers to declare an op's samples (OpSample, OpShapeErrorSample in
// engine/registry.hpp) next to its registration, one line per case. Built-in
// ops and plugins use the same ones.
//
//   using namespace attograd::samples;
//   schema.samples = {sample({uniform({2, 3}), uniform({3}, 0.5, 2)}),          // random f64 inputs
//                     sample({uniform({2, 3}), mask({1, 3}, {1, 0, 1})}, {{"value", -5.0}}),
//                     sample({ids({2}, {4, 0}), uniform({5, 3})})};              // i32 ids, fed as given
//   schema.shape_errors = {shape_error({f64({2, 3}), f64({4})})};                // infer() must refuse
//
// Random values are drawn by the checker from its seed, so a sample always
// denotes the same tensors.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "engine/registry.hpp"

namespace attograd::samples {

// An f64 input with values uniform in [low, high), differentiated.
inline GradcheckInput uniform(Shape shape, double low = -1, double high = 1) {
  GradcheckInput in;
  in.shape = std::move(shape);
  in.low = low;
  in.high = high;
  return in;
}

// An f64 input with exactly these values (row-major), differentiated.
inline GradcheckInput values(Shape shape, const std::vector<double>& v) {
  GradcheckInput in;
  in.value = Tensor::from<double>(shape, v);
  in.shape = std::move(shape);
  return in;
}

// The same input, fed but never differentiated: no gradient is asked for it.
inline GradcheckInput no_grad(GradcheckInput in) {
  in.differentiable = false;
  return in;
}

// A floating input with these values that is never differentiated (a mask).
inline GradcheckInput mask(Shape shape, const std::vector<double>& v) { return no_grad(values(std::move(shape), v)); }

// An i32 input with these values (token ids, targets).
inline GradcheckInput ids(Shape shape, const std::vector<std::int32_t>& v) {
  GradcheckInput in;
  in.dtype = DType::i32;
  in.value = Tensor::from<std::int32_t>(shape, v);
  in.shape = std::move(shape);
  return in;
}

inline OpSample sample(std::vector<GradcheckInput> inputs, Attributes attributes = {}) {
  return {std::move(inputs), std::move(attributes)};
}

// The same sample, run in training mode.
inline OpSample in_training(OpSample s) {
  s.training = true;
  return s;
}

// Input types for shape-error cases.
inline TensorType f32(Shape shape) { return {DType::f32, std::move(shape)}; }
inline TensorType f64(Shape shape) { return {DType::f64, std::move(shape)}; }
inline TensorType i32(Shape shape) { return {DType::i32, std::move(shape)}; }

inline OpShapeErrorSample shape_error(std::vector<TensorType> inputs, Attributes attributes = {}) {
  return {std::move(inputs), std::move(attributes)};
}

// "f64(2, 3), i32(2,); axis=1 training": a sample in one line, for messages.
inline std::string describe(const OpSample& s) {
  std::ostringstream out;
  for (std::size_t i = 0; i < s.inputs.size(); ++i)
    out << (i ? ", " : "") << to_string(TensorType{s.inputs[i].dtype, s.inputs[i].shape})
        << (s.inputs[i].differentiable ? "" : " no_grad");
  if (s.inputs.empty()) out << "no inputs";
  const char* separator = "; ";
  for (const auto& [key, value] : s.attributes.values()) {
    out << separator << key << "=";
    std::visit(
        [&out](const auto& v) {
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::vector<std::int64_t>>)
            out << to_string(Shape(v));
          else
            out << v;
        },
        value);
    separator = " ";
  }
  if (s.training) out << " training";
  return out.str();
}

}  // namespace attograd::samples
