#include "ops/vec_math.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

// The 32-byte vectors below never cross a function boundary that is not
// inlined (every helper is always_inline, the kernels take pointers), so
// GCC's note that their ABI differs with and without AVX does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace attograd::vec {
namespace {

// Eight floats in one value (GCC vector extensions): an AVX register in the
// AVX2 build of a kernel, two SSE registers in the baseline one. Both builds
// do the same IEEE operations in the same order (no FMA contraction under
// -std=c++20), so they give the same bits; only the speed differs.
using F8 = float __attribute__((vector_size(32)));
using I8 = std::int32_t __attribute__((vector_size(32)));
using F4 = float __attribute__((vector_size(16)));
using D4 = double __attribute__((vector_size(32)));
constexpr std::int64_t kW = 8;

[[gnu::always_inline]] inline F8 splat(float v) { return F8{} + v; }

// x[0, m) into a vector, `fill` past m (m <= 8).
[[gnu::always_inline]] inline F8 load(const float* x, std::int64_t m, float fill) {
  if (m == kW) {
    F8 v;
    std::memcpy(&v, x, sizeof v);
    return v;
  }
  F8 v = splat(fill);
  for (std::int64_t i = 0; i < m; ++i) v[i] = x[i];
  return v;
}
[[gnu::always_inline]] inline void store(float* out, F8 v, std::int64_t m) {
  if (m == kW) std::memcpy(out, &v, sizeof v);
  else
    for (std::int64_t i = 0; i < m; ++i) out[i] = v[i];
}

// exp of eight floats. x = n ln2 + r with n = round(x / ln2), |r| <= ln2/2
// (ln2 split into a high and a low part so that n ln2 is exact enough); e^r
// by Cephes' degree-6 polynomial (expf.c); 2^n built in the exponent bits.
// Inputs are clamped to [-87.34, 88] so n stays in the normal range; below
// -87.34 the result is 0.
[[gnu::always_inline]] inline F8 exp8(F8 x) {
  const I8 under = x < splat(-87.3365447504f);
  F8 c = x > splat(88.0f) ? splat(88.0f) : x;
  c = c < splat(-87.3365447504f) ? splat(-87.3365447504f) : c;
  const F8 round = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const F8 n = (c * splat(1.44269504088896341f) + round) - round;
  const F8 r = (c - n * splat(0.693359375f)) - n * splat(-2.12194440e-4f);
  F8 p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = p * r * r + r + splat(1.0f);
  // A NaN lane goes through the conversion as 0 (converting NaN to int is
  // unspecified); p is NaN there already, so the result stays NaN.
  const I8 bits = (__builtin_convertvector(n == n ? n : splat(0.0f), I8) + 127) << 23;
  const F8 y = p * std::bit_cast<F8>(bits);
  return under ? splat(0.0f) : y;
}

// Eight double accumulators, as two halves of four (a 64-byte vector would
// live on the stack).
struct Acc {
  D4 lo = {}, hi = {};
  [[gnu::always_inline]] void add(F8 v) {
    lo += __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), D4);
    hi += __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), D4);
  }
  [[gnu::always_inline]] double total() const {
    double s = 0;
    for (int l = 0; l < 4; ++l) s += lo[l];
    for (int l = 0; l < 4; ++l) s += hi[l];
    return s;
  }
};

// The kernels. Every reduction keeps kW partial results (double for sums)
// combined in lane order at the end: a fixed tree for a given n.
[[gnu::always_inline]] inline float max_body(const float* x, std::int64_t n) {
  F8 m = splat(x[0]);
  for (std::int64_t i = 0; i < n; i += kW) {
    const F8 v = load(x + i, std::min(kW, n - i), x[0]);
    m = v > m ? v : m;
  }
  float r = m[0];
  for (std::int64_t l = 1; l < kW; ++l) r = m[l] > r ? m[l] : r;
  return r;
}

[[gnu::always_inline]] inline float max_masked_body(const float* x, const float* keep, std::int64_t n) {
  const F8 none = splat(-std::numeric_limits<float>::infinity());
  F8 m = none;
  for (std::int64_t i = 0; i < n; i += kW) {
    const std::int64_t w = std::min(kW, n - i);
    const F8 v = load(x + i, w, 0.0f), k = load(keep + i, w, 0.0f);
    m = (k != splat(0.0f)) & (v > m) ? v : m;
  }
  float r = m[0];
  for (std::int64_t l = 1; l < kW; ++l) r = m[l] > r ? m[l] : r;
  return r;
}

[[gnu::always_inline]] inline double sum_body(const float* x, std::int64_t n) {
  Acc acc;
  for (std::int64_t i = 0; i < n; i += kW) acc.add(load(x + i, std::min(kW, n - i), 0.0f));
  return acc.total();
}

[[gnu::always_inline]] inline double exp_shifted_body(const float* x, std::int64_t n, float shift, float* out) {
  Acc acc;
  for (std::int64_t i = 0; i < n; i += kW) {
    const std::int64_t w = std::min(kW, n - i);
    // Past the row's end the lane holds -inf: exp gives 0 and adds nothing.
    const F8 e = exp8(load(x + i, w, -std::numeric_limits<float>::infinity()) - splat(shift));
    if (out) store(out + i, e, w);
    acc.add(e);
  }
  return acc.total();
}

[[gnu::always_inline]] inline double exp_shifted_masked_body(const float* x, const float* keep, std::int64_t n,
                                                             float shift, float* out) {
  Acc acc;
  for (std::int64_t i = 0; i < n; i += kW) {
    const std::int64_t w = std::min(kW, n - i);
    const F8 v = load(x + i, w, 0.0f), k = load(keep + i, w, 0.0f);
    const F8 e = k != splat(0.0f) ? exp8(v - splat(shift)) : splat(0.0f);
    store(out + i, e, w);
    acc.add(e);
  }
  return acc.total();
}

[[gnu::always_inline]] inline void exp_shifted_affine_body(const float* x, std::int64_t n, float shift, float sub,
                                                           float scale, float* out) {
  for (std::int64_t i = 0; i < n; i += kW) {
    const std::int64_t w = std::min(kW, n - i);
    store(out + i, (exp8(load(x + i, w, 0.0f) - splat(shift)) - splat(sub)) * splat(scale), w);
  }
}

using U8 = std::uint32_t __attribute__((vector_size(32)));

// Bit l of the result = lane l of m is set (a comparison's -1).
[[gnu::always_inline]] inline std::uint32_t lane_bits(I8 m) {
  std::uint32_t b = 0;
  for (int l = 0; l < kW; ++l) b |= (static_cast<std::uint32_t>(m[l]) & 1u) << l;
  return b;
}

[[gnu::always_inline]] inline void keep_where_body(const std::uint32_t* words, std::uint32_t threshold, float scale,
                                                   const float* in, float* out, std::int64_t n, std::uint32_t* bits) {
  if (bits) std::fill_n(bits, (n + 31) / 32, 0u);
  std::int64_t i = 0;
  for (; i + kW <= n; i += kW) {
    U8 w;
    std::memcpy(&w, words + i, sizeof w);
    const I8 keep = w >= (U8{} + threshold);
    const F8 kept = load(in + i, kW, 0.0f) * splat(scale);
    store(out + i, keep ? kept : splat(0.0f), kW);
    if (bits) bits[i / 32] |= lane_bits(keep) << (i % 32);
  }
  for (; i < n; ++i) {
    const bool keep = words[i] >= threshold;
    out[i] = keep ? in[i] * scale : 0.0f;
    if (bits) bits[i / 32] |= static_cast<std::uint32_t>(keep) << (i % 32);
  }
}

[[gnu::always_inline]] inline void keep_where_bits_body(const std::uint32_t* bits, float scale, const float* in,
                                                        float* out, std::int64_t n) {
  const U8 lane = {1, 2, 4, 8, 16, 32, 64, 128};
  std::int64_t i = 0;
  for (; i + kW <= n; i += kW) {
    const std::uint32_t byte = (bits[i / 32] >> (i % 32)) & 0xFFu;
    const I8 keep = ((U8{} + byte) & lane) != U8{};
    store(out + i, keep ? load(in + i, kW, 0.0f) * splat(scale) : splat(0.0f), kW);
  }
  for (; i < n; ++i) out[i] = (bits[i / 32] >> (i % 32)) & 1u ? in[i] * scale : 0.0f;
}

// Each kernel twice, for AVX2 and for baseline x86-64; the first call picks
// the one this CPU runs.
bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

#define ATTOGRAD_VEC_KERNEL(ret, name, params, args)                                 \
  __attribute__((target("avx2"))) ret name##_avx2 params { return name##_body args; } \
  ret name##_base params { return name##_body args; }

ATTOGRAD_VEC_KERNEL(float, max, (const float* x, std::int64_t n), (x, n))
ATTOGRAD_VEC_KERNEL(float, max_masked, (const float* x, const float* keep, std::int64_t n), (x, keep, n))
ATTOGRAD_VEC_KERNEL(double, sum, (const float* x, std::int64_t n), (x, n))
ATTOGRAD_VEC_KERNEL(double, exp_shifted, (const float* x, std::int64_t n, float shift, float* out), (x, n, shift, out))
ATTOGRAD_VEC_KERNEL(double, exp_shifted_masked,
                    (const float* x, const float* keep, std::int64_t n, float shift, float* out),
                    (x, keep, n, shift, out))
ATTOGRAD_VEC_KERNEL(void, exp_shifted_affine,
                    (const float* x, std::int64_t n, float shift, float sub, float scale, float* out),
                    (x, n, shift, sub, scale, out))
ATTOGRAD_VEC_KERNEL(void, keep_where,
                    (const std::uint32_t* words, std::uint32_t threshold, float scale, const float* in, float* out,
                     std::int64_t n, std::uint32_t* bits),
                    (words, threshold, scale, in, out, n, bits))
ATTOGRAD_VEC_KERNEL(void, keep_where_bits,
                    (const std::uint32_t* bits, float scale, const float* in, float* out, std::int64_t n),
                    (bits, scale, in, out, n))
#undef ATTOGRAD_VEC_KERNEL

}  // namespace

float max(const float* x, std::int64_t n) { return has_avx2() ? max_avx2(x, n) : max_base(x, n); }
float max_masked(const float* x, const float* keep, std::int64_t n) {
  return has_avx2() ? max_masked_avx2(x, keep, n) : max_masked_base(x, keep, n);
}
double sum(const float* x, std::int64_t n) { return has_avx2() ? sum_avx2(x, n) : sum_base(x, n); }
double exp_shifted(const float* x, std::int64_t n, float shift, float* out) {
  return has_avx2() ? exp_shifted_avx2(x, n, shift, out) : exp_shifted_base(x, n, shift, out);
}
double exp_shifted_masked(const float* x, const float* keep, std::int64_t n, float shift, float* out) {
  return has_avx2() ? exp_shifted_masked_avx2(x, keep, n, shift, out) : exp_shifted_masked_base(x, keep, n, shift, out);
}
void exp_shifted_affine(const float* x, std::int64_t n, float shift, float sub, float scale, float* out) {
  has_avx2() ? exp_shifted_affine_avx2(x, n, shift, sub, scale, out)
             : exp_shifted_affine_base(x, n, shift, sub, scale, out);
}

void keep_where(const std::uint32_t* words, std::uint32_t threshold, float scale, const float* in, float* out,
                std::int64_t n, std::uint32_t* bits) {
  has_avx2() ? keep_where_avx2(words, threshold, scale, in, out, n, bits)
             : keep_where_base(words, threshold, scale, in, out, n, bits);
}
void keep_where_bits(const std::uint32_t* bits, float scale, const float* in, float* out, std::int64_t n) {
  has_avx2() ? keep_where_bits_avx2(bits, scale, in, out, n) : keep_where_bits_base(bits, scale, in, out, n);
}

}  // namespace attograd::vec
