// Vectorised float kernels shared by the softmax and cross-entropy rows.
//
// std::exp is a scalar libm call: on the "small" benchmark the fused
// cross-entropy spent ~7 ns per logit in it. These loops run in SIMD lanes
// (AVX2 + FMA where the CPU has them, chosen once at load time) and reduce
// into a fixed number of lanes combined in a fixed order, so a result depends
// only on the input and its length: never on threads or schedule.
//
// exp here is Cephes' single-precision polynomial (max error ~2 ulp on
// [-87, 88]), 0 below -87.3 and the largest float above 88.7; NaN stays NaN.
// Double-precision kernels (gradient checks) keep using std::exp.
#pragma once

#include <cstdint>

namespace attograd::vec {

// max_i x[i] (n >= 1).
float max(const float* x, std::int64_t n);
// sum_i x[i], accumulated in double.
double sum(const float* x, std::int64_t n);
// out[i] = exp(x[i] - shift) (out may be null), returns sum_i of them in double.
double exp_shifted(const float* x, std::int64_t n, float shift, float* out);
// As exp_shifted where keep[i] != 0; out[i] = 0 (not counted) where keep[i] == 0.
double exp_shifted_masked(const float* x, const float* keep, std::int64_t n, float shift, float* out);
// max over the positions where keep[i] != 0; -inf when none is kept.
float max_masked(const float* x, const float* keep, std::int64_t n);
// out[i] = (exp(x[i] - shift) - sub) * scale.
void exp_shifted_affine(const float* x, std::int64_t n, float shift, float sub, float scale, float* out);

// out[i] = in[i] * scale where words[i] >= threshold, else 0 (dropout). If
// bits is not null, also bit i % 32 of bits[i / 32] = (words[i] >= threshold)
// for i < n (the rest of the last word 0).
void keep_where(const std::uint32_t* words, std::uint32_t threshold, float scale, const float* in, float* out,
                std::int64_t n, std::uint32_t* bits = nullptr);
// out[i] = in[i] * scale where bit i % 32 of bits[i / 32] is set, else 0.
void keep_where_bits(const std::uint32_t* bits, float scale, const float* in, float* out, std::int64_t n);

}  // namespace attograd::vec
