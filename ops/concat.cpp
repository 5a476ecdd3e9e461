#include "ops/concat.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"

namespace attograd {
namespace {

// A tensor seen as (outer, n, inner) around `axis`, in bytes per inner slab.
struct Slabs {
  std::int64_t outer = 1, n = 1, slab_bytes = 0;
  Slabs(const Tensor& t, int axis) : n(t.shape()[static_cast<std::size_t>(axis)]) {
    std::int64_t inner = 1;
    for (int d = 0; d < axis; ++d) outer *= t.shape()[static_cast<std::size_t>(d)];
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < t.rank(); ++d) inner *= t.shape()[d];
    slab_bytes = inner * static_cast<std::int64_t>(dtype_size(t.dtype()));
  }
};

// dst[o, dst_start + j, :] = src[o, src_start + j, :] for j < len and every
// outer index o: one memcpy per outer index, in blocks of about 64 KiB.
void copy_window(const OpContext& ctx, const Tensor& src, std::int64_t src_start, Tensor& dst, std::int64_t dst_start,
                 std::int64_t len, int axis) {
  const Slabs s(src, axis), d(dst, axis);
  const std::int64_t bytes = len * s.slab_bytes;
  if (bytes == 0) return;
  const auto* from = static_cast<const std::byte*>(src.raw()) + src_start * s.slab_bytes;
  auto* to = static_cast<std::byte*>(dst.raw()) + dst_start * d.slab_bytes;
  ctx.parallel_for(s.outer, std::max<std::int64_t>(1, (1 << 16) / bytes), [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t o = lo; o < hi; ++o)
      std::memcpy(to + o * d.n * d.slab_bytes, from + o * s.n * s.slab_bytes, static_cast<std::size_t>(bytes));
  });
}

class ConcatOp final : public Op {
 public:
  explicit ConcatOp(std::int64_t axis) : axis_(axis) {}
  std::string name() const override { return "concat"; }
  std::string describe() const override { return fmt::format("axis={}", axis_); }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.empty()) throw ShapeError("[concat] needs at least one input");
    const TensorType& first = in[0];
    const int axis = normalize_axis(axis_, first.shape.size(), "concat");
    Shape out = first.shape;
    out[static_cast<std::size_t>(axis)] = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const Shape& s = in[i].shape;
      if (in[i].dtype != first.dtype || s.size() != first.shape.size())
        throw ShapeError(fmt::format("[concat] input {} is {}, input 0 is {}: dtype and rank must match", i,
                                     to_string(in[i]), to_string(first)));
      for (std::size_t d = 0; d < s.size(); ++d)
        if (d != static_cast<std::size_t>(axis) && s[d] != first.shape[d])
          throw ShapeError(fmt::format("[concat] input {} {} and input 0 {} differ in dim {} (concat axis is {})", i,
                                       to_string(s), to_string(first.shape), d, axis));
      out[static_cast<std::size_t>(axis)] += s[static_cast<std::size_t>(axis)];
    }
    return {first.dtype, out};
  }

  Tensor forward(OpContext& c) const override {
    Tensor out = c.allocate_output();
    const int axis = normalize_axis(axis_, out.rank(), "concat");
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < c.num_inputs(); ++i) {
      const std::int64_t n = c.input(i).dim(axis);
      copy_window(c, c.input(i), 0, out, offset, n, axis);
      offset += n;
    }
    return out;
  }

  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor& g = c.grad_output();
    const int axis = normalize_axis(axis_, g.rank(), "concat");
    std::vector<Tensor> grads(c.num_inputs());
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < c.num_inputs(); ++i) {
      const Shape& shape = c.input_type(i).shape;
      const std::int64_t n = shape[static_cast<std::size_t>(axis)];
      if (c.needs_grad(i)) {
        grads[i] = Tensor::empty(g.dtype(), shape);
        copy_window(c, g, offset, grads[i], 0, n, axis);
      }
      offset += n;
    }
    return grads;
  }
  bool backward_reads_input(std::size_t) const override { return false; }  // only their shapes
  bool backward_reads_output() const override { return false; }
  Cost cost(std::span<const TensorType>, const TensorType& out) const override {
    const double b = double(numel(out.shape) * std::int64_t(dtype_size(out.dtype)));
    return {0, 0, 2 * b, 2 * b};
  }

 private:
  std::int64_t axis_;
};

class SliceOp final : public Op {
 public:
  SliceOp(std::int64_t axis, std::int64_t start, std::int64_t end) : axis_(axis), start_(start), end_(end) {}
  std::string name() const override { return "slice"; }
  std::string describe() const override { return fmt::format("axis={} [{}, {})", axis_, start_, end_); }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[slice] takes 1 input, got {}", in.size()));
    Shape out = in[0].shape;
    const auto axis = static_cast<std::size_t>(normalize_axis(axis_, out.size(), "slice"));
    if (start_ < 0 || start_ > end_ || end_ > out[axis])
      throw ShapeError(
          fmt::format("[slice] [{}, {}) is out of range for axis {} of {}", start_, end_, axis_, to_string(out)));
    out[axis] = end_ - start_;
    return {in[0].dtype, out};
  }
  Tensor forward(OpContext& c) const override {
    Tensor out = c.allocate_output();
    copy_window(c, c.input(0), start_, out, 0, end_ - start_, normalize_axis(axis_, out.rank(), "slice"));
    return out;
  }
  std::vector<Tensor> backward(OpContext& c) const override {
    Tensor dx = Tensor::zeros(c.grad_output().dtype(), c.input_type(0).shape);
    copy_window(c, c.grad_output(), 0, dx, start_, end_ - start_, normalize_axis(axis_, dx.rank(), "slice"));
    return {dx};
  }
  bool backward_reads_input(std::size_t) const override { return false; }  // only its shape
  bool backward_reads_output() const override { return false; }
  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const double e = double(dtype_size(out.dtype));
    return {0, 0, 2 * double(numel(out.shape)) * e, double(numel(in[0].shape) + numel(out.shape)) * e};
  }

 private:
  std::int64_t axis_, start_, end_;
};

}  // namespace

Expr concat(const std::vector<Expr>& xs, std::int64_t axis) {
  if (xs.empty()) throw ShapeError("[concat] needs at least one input");
  return xs[0].graph->add(std::make_shared<ConcatOp>(axis), xs);
}
Expr slice(Expr x, std::int64_t axis, std::int64_t start, std::int64_t end) {
  return x.graph->add(std::make_shared<SliceOp>(axis, start, end), {x});
}

void register_concat_ops(OpRegistry& r) {
  using namespace samples;
  const auto axis = [](std::int64_t a) { return Attributes{{"axis", a}}; };
  const auto window = [](std::int64_t a, std::int64_t start, std::int64_t end) {
    return Attributes{{"axis", a}, {"start", start}, {"end", end}};
  };
  // Every position of the axis, three inputs, a negative axis, an empty input and token ids.
  r.add({"concat",
         "joins inputs along attribute axis; other dims must match",
         [](const Attributes& a) -> OpPtr { return std::make_shared<ConcatOp>(a.get_int("concat", "axis")); },
         {sample({uniform({2, 3}), uniform({2, 1})}, axis(1)),
          sample({uniform({2, 1, 3}), uniform({2, 3, 3}), uniform({2, 2, 3})}, axis(1)),
          sample({uniform({1}), uniform({2})}, axis(0)), sample({uniform({2, 2}), uniform({2, 1})}, axis(-1)),
          sample({uniform({0, 2}), uniform({1, 2})}, axis(0)),
          sample({ids({1, 2}, {4, 5}), ids({1, 1}, {6})}, axis(1))},
         {shape_error({f64({2, 3}), f64({2, 3, 1})}, axis(0)), shape_error({f64({2, 3}), f64({2, 4})}, axis(0)),
          shape_error({f64({2, 3}), f32({2, 3})}, axis(0))}});
  // Every axis, a negative one, an empty window and token ids.
  r.add({"slice",
         "elements [start, end) along axis (attributes axis, start, end)",
         [](const Attributes& a) -> OpPtr {
           return std::make_shared<SliceOp>(a.get_int("slice", "axis"), a.get_int("slice", "start"),
                                            a.get_int("slice", "end"));
         },
         {sample({uniform({2, 5})}, window(1, 1, 4)), sample({uniform({2, 3, 2})}, window(0, 1, 2)),
          sample({uniform({2, 3, 2})}, window(1, 1, 2)), sample({uniform({2, 3, 2})}, window(2, 1, 2)),
          sample({uniform({2, 3, 4})}, window(-1, 3, 4)), sample({uniform({2, 3, 4})}, window(2, 2, 2)),
          sample({ids({1, 3}, {4, 5, 6})}, window(1, 1, 3))},
         {shape_error({f64({2, 3})}, window(1, 2, 4)), shape_error({f64({2, 3})}, window(0, 2, 1))}});
}

}  // namespace attograd
