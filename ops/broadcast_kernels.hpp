// Loops over broadcast operands, shared by the elementwise ops and by the
// reductions' backward. Internal to ops/ (no xtensor here: hand loops are
// 40-50x faster than xtensor's broadcasting reducers on these shapes).
#pragma once

#include <algorithm>
#include <vector>

#include "engine/context.hpp"

namespace attograd::kernels {

// out[i] = f(a[bcast(i)], b[bcast(i)]) for every i of `out_shape`, where a and
// b broadcast to out_shape. Runs in blocks of rows through ctx.parallel_for;
// every output element is written by exactly one block.
template <class T, class F>
void binary_broadcast(const OpContext& ctx, const T* a, const Shape& a_shape, const T* b, const Shape& b_shape, T* out,
                      const Shape& out_shape, F f) {
  const std::int64_t n = numel(out_shape);
  if (n == 0) return;
  constexpr std::int64_t kGrain = 1 << 14;
  if (a_shape == out_shape && b_shape == out_shape) {
    ctx.parallel_for(n, kGrain, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t i = lo; i < hi; ++i) out[i] = f(a[i], b[i]);
    });
    return;
  }
  // Rows along the last output axis; odometer over the leading axes.
  const std::size_t rank = out_shape.size();
  const Shape sa = broadcast_strides(a_shape, out_shape);
  const Shape sb = broadcast_strides(b_shape, out_shape);
  const std::int64_t inner = rank ? out_shape[rank - 1] : 1;
  const std::int64_t ia = rank ? sa[rank - 1] : 0, ib = rank ? sb[rank - 1] : 0;
  const std::int64_t rows = n / inner;
  const std::int64_t row_grain = std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(inner, 1));
  ctx.parallel_for(rows, row_grain, [&](std::int64_t lo, std::int64_t hi) {
    // Decompose the first row index into leading coordinates.
    std::vector<std::int64_t> index(rank ? rank - 1 : 0, 0);
    std::int64_t offa = 0, offb = 0, r = lo;
    for (std::size_t d = index.size(); d-- > 0;) {
      index[d] = r % out_shape[d];
      r /= out_shape[d];
      offa += index[d] * sa[d];
      offb += index[d] * sb[d];
    }
    for (std::int64_t row = lo; row < hi; ++row) {
      T* o = out + row * inner;
      const T* pa = a + offa;
      const T* pb = b + offb;
      if (ia == 1 && ib == 1) {
        for (std::int64_t k = 0; k < inner; ++k) o[k] = f(pa[k], pb[k]);
      } else if (ia == 1) {
        const T vb = pb[0];
        for (std::int64_t k = 0; k < inner; ++k) o[k] = f(pa[k], ib ? pb[k] : vb);
      } else {
        for (std::int64_t k = 0; k < inner; ++k) o[k] = f(pa[k * ia], pb[k * ib]);
      }
      for (std::size_t d = index.size(); d-- > 0;) {
        offa += sa[d];
        offb += sb[d];
        if (++index[d] < out_shape[d]) break;
        offa -= sa[d] * out_shape[d];
        offb -= sb[d] * out_shape[d];
        index[d] = 0;
      }
    }
  });
}

// out (shape `to`) = a (shape `from`, which broadcasts to `to`) repeated.
template <class T>
void broadcast_to(const OpContext& ctx, const T* a, const Shape& from, T* out, const Shape& to) {
  const T zero = T(0);
  binary_broadcast<T>(ctx, a, from, &zero, Shape{}, out, to, [](T x, T) { return x; });
}

// out[i] = f(x[i]) in parallel blocks.
template <class T, class F>
void unary_map(const OpContext& ctx, const T* x, T* out, std::int64_t n, F f) {
  ctx.parallel_for(n, 1 << 14, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t i = lo; i < hi; ++i) out[i] = f(x[i]);
  });
}

}  // namespace attograd::kernels
