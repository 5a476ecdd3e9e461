// Element types a Tensor can hold.
//
// f32 is what models train in; f64 exists so every kernel can be checked by
// finite differences (gradcheck) in double precision; i32 holds token ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace attograd {

enum class DType : std::uint8_t { f32, f64, i32 };

constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::f32; }
template <> constexpr DType dtype_of<double>() { return DType::f64; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::i32; }

// Calls f(T{}) with T = float or double to match `t`. Kernels are templates over
// T and are instantiated once per floating type through this one switch.
//   visit_floating(x.dtype(), [&]<class T>(T) { kernel<T>(...); });
void throw_not_floating(DType t);
template <class F> decltype(auto) visit_floating(DType t, F&& f) {
  if (t == DType::f64) return f(double{});
  if (t != DType::f32) throw_not_floating(t);
  return f(float{});
}

}  // namespace attograd
