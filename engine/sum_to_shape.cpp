// The engine's broadcast reduction: gradients of broadcast inputs.
#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/executor.hpp"

namespace attograd {
namespace {

// Adds every element of g (shape `from`) into out at its broadcast position.
// Fast path: `to` is a suffix of `from` (a bias (D,) of a (B, T, D) input),
// i.e. g is `rows` copies of out's layout, added row after row.
template <class T>
void reduce(const T* g, const Shape& from, T* out, const Shape& to) {
  const std::int64_t out_n = numel(to);
  std::fill_n(out, out_n, T(0));
  const std::size_t lead = from.size() - to.size();
  bool suffix = true;
  for (std::size_t i = 0; i < to.size(); ++i) suffix = suffix && to[i] == from[lead + i];
  if (suffix) {
    const std::int64_t rows = numel(from) / std::max<std::int64_t>(out_n, 1);
    for (std::int64_t r = 0; r < rows; ++r, g += out_n)
      for (std::int64_t k = 0; k < out_n; ++k) out[k] += g[k];
    return;
  }
  // General case: odometer over `from`, offsets into `out` with stride 0 on
  // broadcast axes.
  const Shape strides = broadcast_strides(to, from);
  const std::size_t rank = from.size();
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t offset = 0;
  const std::int64_t total = numel(from);
  for (std::int64_t i = 0; i < total; ++i) {
    out[offset] += g[i];
    for (std::size_t a = rank; a-- > 0;) {
      offset += strides[a];
      if (++index[a] < from[a]) break;
      offset -= strides[a] * from[a];
      index[a] = 0;
    }
  }
}

}  // namespace

Tensor sum_to_shape(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  Shape common;
  if (shape.size() > grad.rank() || !broadcast_shapes(grad.shape(), shape, common) || common != grad.shape())
    throw ShapeError(fmt::format("[sum_to_shape] {} does not broadcast to {}", to_string(shape), to_string(grad.shape())));
  Tensor out = Tensor::empty(grad.dtype(), shape);
  visit_floating(grad.dtype(), [&]<class T>(T) { reduce<T>(grad.data<T>(), grad.shape(), out.data<T>(), shape); });
  return out;
}

}  // namespace attograd
