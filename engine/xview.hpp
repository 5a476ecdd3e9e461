// xtensor views of a Tensor's storage, for kernels and tests that want
// xtensor's algebra on attograd tensors without a copy.
//
//   Tensor t = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
//   auto v = xview<float>(t);            // an xt::xarray_adaptor over t's storage
//   v(1, 2) = 7;                          // writes t
//   xt::xarray<float> s = xt::sum(v, {1});  // {6, 16}
//
// Include it only in .cpp files that need it (xtensor is heavy to compile),
// and evaluate into containers before using a reduction inside another
// expression: xtensor 0.24.3 reads out of bounds on a lazy keep_dims
// reduction broadcast in an expression (docs/DESIGN.md). The hot kernels in
// ops/ are hand-written loops, measured 40-50x faster than xtensor's
// broadcasting reducers on Transformer shapes.
#pragma once

#include <cstddef>
#include <vector>

#include <xtensor/xadapt.hpp>

#include "engine/tensor.hpp"

namespace attograd {

namespace detail {
inline std::vector<std::size_t> xshape(const Tensor& t) { return {t.shape().begin(), t.shape().end()}; }
}  // namespace detail

// A writable row-major view of t (t must hold T: checked by data<T>()).
template <class T>
auto xview(Tensor& t) {
  return xt::adapt(t.data<T>(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), detail::xshape(t));
}

// A read-only view.
template <class T>
auto xview(const Tensor& t) {
  return xt::adapt(t.data<T>(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), detail::xshape(t));
}

}  // namespace attograd
