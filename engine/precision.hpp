// The precision a run computes its products in (RunSettings::precision).
//
//   f32   every op computes in its values' own dtype (the default; f64
//         graphs, as gradcheck builds them, are exact either way);
//   bf16  mixed precision, as PyTorch's CPU autocast: ops that have bf16
//         kernels (the registry's OpSchema::bf16_kernel: linear, matmul)
//         round their f32 operands to bfloat16 (nearest even) and
//         accumulate the products in f32; their outputs, and every other
//         op, stay f32. f64 nodes ignore it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace attograd {

enum class Precision : std::uint8_t { f32, bf16 };

inline const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "f32"; }

// "f32" or "bf16" (precision_name's spellings); anything else: nullopt.
inline std::optional<Precision> precision_from_name(std::string_view name) {
  if (name == "f32") return Precision::f32;
  if (name == "bf16") return Precision::bf16;
  return std::nullopt;
}

}  // namespace attograd
