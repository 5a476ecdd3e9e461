// The engine's broadcast reduction: gradients of broadcast inputs.
#include <algorithm>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/executor.hpp"

namespace attograd {
namespace {

// Adds every element of g (shape `from`) into out at its broadcast position.
// Fast path: `to` is a suffix of `from` (a bias (D,) of a (B, T, D) input),
// i.e. g is `rows` copies of out's layout, added row after row, in blocks of
// 64 output columns (on `parallel` when given).
template <class T>
void reduce(const T* g, const Shape& from, T* out, const Shape& to, const Parallel* parallel) {
  const std::int64_t out_n = numel(to);
  const std::size_t lead = from.size() - to.size();
  bool suffix = true;
  for (std::size_t i = 0; i < to.size(); ++i) suffix = suffix && to[i] == from[lead + i];
  if (suffix) {
    constexpr std::int64_t kColumns = 64;
    const std::int64_t rows = numel(from) / std::max<std::int64_t>(out_n, 1);
    const BlockBody columns = [&](std::int64_t lo, std::int64_t hi) {
      const std::int64_t c0 = lo * kColumns, c1 = std::min(out_n, hi * kColumns);
      std::fill(out + c0, out + c1, T(0));
      for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t k = c0; k < c1; ++k) out[k] += g[r * out_n + k];
    };
    const std::int64_t blocks = (out_n + kColumns - 1) / kColumns;
    if (parallel) parallel->parallel_for(blocks, 1, columns);
    else columns(0, blocks);
    return;
  }
  std::fill_n(out, out_n, T(0));
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

Tensor sum_to_shape(const Tensor& grad, const Shape& shape, const Parallel* parallel) {
  if (grad.shape() == shape) return grad;
  Shape common;
  if (shape.size() > grad.rank() || !broadcast_shapes(grad.shape(), shape, common) || common != grad.shape())
    throw ShapeError(fmt::format("[sum_to_shape] {} does not broadcast to {}", to_string(shape), to_string(grad.shape())));
  Tensor out = Tensor::empty(grad.dtype(), shape);
  visit_floating(grad.dtype(),
                 [&]<class T>(T) { reduce<T>(grad.data<T>(), grad.shape(), out.data<T>(), shape, parallel); });
  return out;
}

}  // namespace attograd
