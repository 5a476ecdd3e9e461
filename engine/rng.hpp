// Counter-based random numbers (Philox 4x32-10, from Random123).
//
// A random value is a pure function of (key, counter): no generator state is
// carried between calls, so any thread may compute any element and the result
// never depends on the schedule. Dropout keys by (seed, node) and counts by
// (step, element / 4); initialisers key by (seed, hash of parameter name).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace attograd {

// Four 32-bit random words for (key, counter_hi, counter_lo).
std::array<std::uint32_t, 4> philox(std::uint64_t key, std::uint64_t counter_hi, std::uint64_t counter_lo);

// The same words for `count` consecutive counters: out[4*j .. 4*j+3] =
// philox(key, counter_hi, first + j). Computes many counters at once in SIMD
// lanes (AVX2 where the CPU has it): dropout masks are made this way.
void philox_block(std::uint64_t key, std::uint64_t counter_hi, std::uint64_t first, std::int64_t count,
                  std::uint32_t* out);

// Uniform in [0, 1) with 24 random bits (exactly representable in float).
inline float uniform01(std::uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }
// Uniform in [0, 1) with 53 random bits from two words.
inline double uniform01(std::uint32_t hi, std::uint32_t lo) {
  return static_cast<double>((static_cast<std::uint64_t>(hi) << 21) ^ (lo >> 11)) * (1.0 / 9007199254740992.0);
}

// 64-bit FNV-1a, to turn names into RNG keys.
std::uint64_t hash_name(std::string_view name);
// Mixes two 64-bit values into one key (splitmix64 finaliser).
std::uint64_t mix_keys(std::uint64_t a, std::uint64_t b);

}  // namespace attograd
