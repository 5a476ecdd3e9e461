// bfloat16: the upper 16 bits of an IEEE fp32 (sign, 8 exponent bits, 7
// mantissa bits). Converting up is exact; converting down rounds.
//
//   std::uint16_t h = to_bf16(1.00390625f);   // a tie: rounds to even, 1.0
//   float x = from_bf16(h);                    // 1.0f, exactly
#pragma once

#include <bit>
#include <cstdint>

namespace attograd::gemm {

// fp32 -> bf16 as Intel's VCVTNEPS2BF16 does it (SDM pseudo-code
// convert_fp32_to_bfloat16), so that a later AVX512-BF16 path converts to
// the same bits:
//   zero or denormal -> zero of the same sign (denormals are flushed);
//   infinity         -> infinity;
//   NaN              -> upper half with the quiet bit (bit 6) set, so a NaN
//                       whose payload sat in the low half stays NaN;
//   otherwise        -> round to nearest, ties to even, by the integer add
//                       bits + 0x7FFF + (bit 16) and keeping the upper half
//                       (the largest floats round up to infinity).
inline std::uint16_t to_bf16(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t exponent = bits & 0x7F800000u, mantissa = bits & 0x007FFFFFu;
  if (exponent == 0) return std::uint16_t((bits >> 16) & 0x8000u);
  if (exponent == 0x7F800000u) {
    const auto upper = std::uint16_t(bits >> 16);
    return mantissa == 0 ? upper : std::uint16_t(upper | 0x0040u);
  }
  return std::uint16_t((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

inline float from_bf16(std::uint16_t h) { return std::bit_cast<float>(std::uint32_t(h) << 16); }

// x rounded to the nearest bf16, as a float.
inline float round_to_bf16(float x) { return from_bf16(to_bf16(x)); }

}  // namespace attograd::gemm
