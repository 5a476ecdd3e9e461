// Dropout's mask kernels, shared by dropout and dropout_add. Internal to ops/.
//
// Element i of a tensor is kept when word i % 4 of philox(key, step, i / 4)
// is >= threshold = p * 2^32 (probability 1 - p, to within 2^-32); bit i % 32
// of bits[i / 32] records the decision for backward. key = mix(run seed,
// hash(label)): a pure function of the run's seed and the label, so a mask
// does not move when a node is added elsewhere in the graph, and it is the
// same on any number of threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "engine/context.hpp"
#include "engine/rng.hpp"
#include "ops/vec_math.hpp"

namespace attograd::dropout_mask {

// Elements per parallel block: a multiple of 32, so every Philox call (4
// words, one per element) and every word of the kept bits falls inside one
// block.
inline constexpr std::int64_t kGrain = 1 << 14;
// Elements whose Philox words are made at once (a multiple of 32 dividing kGrain).
inline constexpr std::int64_t kChunk = 1024;

// The Philox key of the mask keyed by `label` in this run.
inline std::uint64_t key(const OpContext& c, std::string_view label) { return mix_keys(c.seed(), hash_name(label)); }

// out[j] = in[j] * scale where words[j] >= threshold, else 0, and the kept
// bits (float: SIMD lanes, ops/vec_math.hpp).
template <class T>
void keep_where(const std::uint32_t* words, std::uint32_t threshold, T scale, const T* in, T* out, std::int64_t m,
                std::uint32_t* bits) {
  if constexpr (std::is_same_v<T, float>) {
    vec::keep_where(words, threshold, scale, in, out, m, bits);
  } else {
    std::fill_n(bits, (m + 31) / 32, 0u);
    for (std::int64_t j = 0; j < m; ++j) {
      const bool keep = words[j] >= threshold;
      out[j] = keep ? in[j] * scale : T(0);
      bits[j / 32] |= static_cast<std::uint32_t>(keep) << (j % 32);
    }
  }
}

// out[i] = in[i] * scale where bit i of `bits` is set, else 0.
template <class T>
void keep_where_bits(const std::uint32_t* bits, T scale, const T* in, T* out, std::int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    vec::keep_where_bits(bits, scale, in, out, n);
  } else {
    for (std::int64_t j = 0; j < n; ++j) out[j] = (bits[j / 32] >> (j % 32)) & 1u ? in[j] * scale : T(0);
  }
}

// y[i] = x[i] / (1 - p) if element i is kept, else 0, and its bit; then
// after_chunk(i, m) for each chunk [i, i + m) just written, while it is in
// cache (dropout_add adds its residual there).
template <class T, class F>
void apply(const OpContext& c, std::uint64_t key, const T* x, T* y, std::uint32_t* bits, std::int64_t n, double p,
           F after_chunk) {
  const std::uint64_t step = c.step();
  const auto threshold = static_cast<std::uint32_t>(std::ldexp(p, 32));
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  c.parallel_for(n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
    std::uint32_t words[kChunk];  // one word per element of the chunk
    for (std::int64_t i = lo; i < hi; i += kChunk) {
      const std::int64_t m = std::min<std::int64_t>(kChunk, hi - i);
      philox_block(key, step, static_cast<std::uint64_t>(i / 4), (m + 3) / 4, words);
      keep_where(words, threshold, scale, x + i, y + i, m, bits + i / 32);
      after_chunk(i, m);
    }
  });
}

// dx = g / (1 - p) where forward kept the element, else 0.
template <class T>
void apply_bits(const OpContext& c, const std::uint32_t* bits, const T* g, T* dx, std::int64_t n, double p) {
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  c.parallel_for(n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
    keep_where_bits(bits + lo / 32, scale, g + lo, dx + lo, hi - lo);
  });
}

}  // namespace attograd::dropout_mask
