#include "train/finite_values.hpp"

#include <cmath>

#include <fmt/format.h>

namespace attograd {

std::int64_t count_non_finite(const Tensor& t) {
  if (!t.defined() || (t.dtype() != DType::f32 && t.dtype() != DType::f64)) return 0;
  return visit_floating(t.dtype(), [&]<class T>(T) {
    std::int64_t bad = 0;
    for (const T v : t.span<T>()) bad += !std::isfinite(v);
    return bad;
  });
}

std::optional<NonFiniteTensor> first_non_finite(const ParameterStore& store, bool with_state) {
  for (const Parameter& p : store.all()) {
    if (const std::int64_t bad = count_non_finite(p.value)) return NonFiniteTensor{p.name, bad, p.value.numel()};
    if (!with_state) continue;
    for (const auto& [slot, t] : p.state)
      if (const std::int64_t bad = count_non_finite(t))
        return NonFiniteTensor{fmt::format("optimizer.{}.{}", p.name, slot), bad, t.numel()};
  }
  return std::nullopt;
}

std::string describe(const NonFiniteTensor& bad) {
  return fmt::format("tensor '{}' holds {} of {} values that are NaN or Inf", bad.name, bad.count, bad.numel);
}

}  // namespace attograd
