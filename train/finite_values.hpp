// Finite values: a run that diverged holds NaN or Inf in its parameters or
// its optimizer state. Training refuses to save such a model over a good
// checkpoint, and loading refuses such a checkpoint, each naming the tensor.
//
//   if (auto bad = first_non_finite(store)) throw Error(describe(*bad));
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/parameters.hpp"

namespace attograd {

struct NonFiniteTensor {
  std::string name;          // "decoder.layers.0.ff.linear1.weight", or "optimizer.<param>.<slot>"
  std::int64_t count = 0;    // elements that are NaN or +-Inf
  std::int64_t numel = 0;
};

// Elements of a floating tensor that are NaN or +-Inf (0 for integer tensors).
std::int64_t count_non_finite(const Tensor& t);

// The first parameter (in creation order) whose value is not all finite; with
// `with_state`, the optimizer slots are looked at too.
std::optional<NonFiniteTensor> first_non_finite(const ParameterStore& store, bool with_state = false);

// "tensor 'x' holds 3 of 64 values that are NaN or Inf"
std::string describe(const NonFiniteTensor& bad);

}  // namespace attograd
