#include "ops/reduce.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/broadcast_kernels.hpp"

namespace attograd {
namespace {

// Which axes a reduction removes, and the shapes that follow from them.
class ReducedAxes {
 public:
  ReducedAxes(std::vector<std::int64_t> axes, bool keepdims) : axes_(std::move(axes)), keepdims_(keepdims) {}

  // The input shape with every reduced axis set to 1; throws ShapeError
  // "[op] axis ..." for an axis out of range.
  Shape kept_shape(const Shape& s, const char* op) const {
    Shape k = s;
    for (std::size_t i = 0; i < s.size(); ++i)
      if (reduced(i, s.size(), op)) k[i] = 1;
    return k;
  }
  // The output shape: kept_shape, or without the reduced axes.
  Shape out_shape(const Shape& s, const char* op) const {
    if (keepdims_) return kept_shape(s, op);
    Shape out;
    for (std::size_t i = 0; i < s.size(); ++i)
      if (!reduced(i, s.size(), op)) out.push_back(s[i]);
    return out;
  }
  std::string describe() const { return fmt::format("axes=[{}]{}", fmt::join(axes_, ","), keepdims_ ? " keepdims" : ""); }

 private:
  bool reduced(std::size_t axis, std::size_t rank, const char* op) const {
    if (axes_.empty()) return true;
    bool hit = false;
    for (auto a : axes_) hit |= static_cast<std::size_t>(normalize_axis(a, rank, op)) == axis;
    return hit;
  }

  std::vector<std::int64_t> axes_;
  bool keepdims_;
};

class ReduceOp final : public Op {
 public:
  ReduceOp(std::vector<std::int64_t> axes, bool keepdims, bool mean) : axes_(std::move(axes), keepdims), mean_(mean) {}

  std::string name() const override { return mean_ ? "mean" : "sum"; }
  std::string describe() const override { return axes_.describe(); }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[{}] takes 1 input, got {}", name(), in.size()));
    if (!is_floating(in[0].dtype)) throw ShapeError(fmt::format("[{}] needs a floating input", name()));
    return {in[0].dtype, axes_.out_shape(in[0].shape, op_name())};
  }

  Tensor forward(OpContext& c) const override {
    const Tensor& x = c.input(0);
    Tensor s = sum_to_shape(x, axes_.kept_shape(x.shape(), op_name()), &c.parallel());
    if (s.raw() == x.raw()) s = s.clone();  // nothing reduced: never alias the input
    if (mean_) {
      const double count = static_cast<double>(x.numel()) / static_cast<double>(std::max<std::int64_t>(1, s.numel()));
      visit_floating(s.dtype(), [&]<class T>(T) {
        for (T& v : s.span<T>()) v = static_cast<T>(v / static_cast<T>(count));
      });
    }
    return s.reshaped(c.output_type().shape);
  }

  std::vector<Tensor> backward(OpContext& c) const override {
    const Shape& in_shape = c.input(0).shape();
    const Tensor g = c.grad_output().reshaped(axes_.kept_shape(in_shape, op_name()));
    Tensor out = Tensor::empty(g.dtype(), in_shape);
    const double count = static_cast<double>(numel(in_shape)) / static_cast<double>(std::max<std::int64_t>(1, g.numel()));
    visit_floating(g.dtype(), [&]<class T>(T) {
      const T k = mean_ ? static_cast<T>(1.0 / count) : T(1);
      kernels::binary_broadcast<T>(c, g.data<T>(), g.shape(), &k, Shape{}, out.data<T>(), in_shape,
                                   [](T v, T s) { return v * s; });
    });
    return {out};
  }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const double n = static_cast<double>(numel(in[0].shape)), e = static_cast<double>(dtype_size(out.dtype));
    return {n, n, n * e, 2 * n * e};
  }

 private:
  const char* op_name() const { return mean_ ? "mean" : "sum"; }

  ReducedAxes axes_;
  bool mean_;
};

// Row-major offsets (with `strides`) of every index of `box`.
std::vector<std::int64_t> box_offsets(const Shape& box, const Shape& strides) {
  std::vector<std::int64_t> offsets{0};
  for (std::size_t d = 0; d < box.size(); ++d) {
    std::vector<std::int64_t> next;
    next.reserve(offsets.size() * static_cast<std::size_t>(box[d]));
    for (std::int64_t base : offsets)
      for (std::int64_t i = 0; i < box[d]; ++i) next.push_back(base + i * strides[d]);
    offsets = std::move(next);
  }
  return offsets;
}

// out[o] = the largest element of output o's group; its position in x is
// saved (i32) for backward. Ties and NaN: the first in row-major order wins,
// and a NaN beats any number (NaN propagates, as in numpy and PyTorch).
class MaxOp final : public Op {
 public:
  MaxOp(std::vector<std::int64_t> axes, bool keepdims) : axes_(std::move(axes), keepdims) {}

  std::string name() const override { return "max"; }
  std::string describe() const override { return axes_.describe(); }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[max] takes 1 input, got {}", in.size()));
    if (!is_floating(in[0].dtype)) throw ShapeError("[max] needs a floating input");
    const Shape& s = in[0].shape;
    if (numel(s) > std::numeric_limits<std::int32_t>::max())
      throw ShapeError(fmt::format("[max] input {} has more than 2^31 - 1 elements", to_string(s)));
    const Shape kept = axes_.kept_shape(s, "max");
    for (std::size_t d = 0; d < s.size(); ++d)
      if (kept[d] == 1 && s[d] == 0)
        throw ShapeError(fmt::format("[max] cannot reduce axis {} of {}: it is empty", d, to_string(s)));
    return {in[0].dtype, axes_.out_shape(s, "max")};
  }

  Tensor forward(OpContext& c) const override {
    const Tensor& x = c.input(0);
    const Shape kept = axes_.kept_shape(x.shape(), "max");
    // Output o's group: x[starts[o] + within[j]], j in row-major order.
    Shape group = x.shape();
    for (std::size_t d = 0; d < group.size(); ++d) group[d] = kept[d] == 1 ? x.shape()[d] : 1;
    const Shape strides = contiguous_strides(x.shape());
    const std::vector<std::int64_t> starts = box_offsets(kept, strides), within = box_offsets(group, strides);
    Tensor out = c.allocate_output();
    Tensor where = Tensor::empty(DType::i32, kept);
    std::int32_t* w = where.data<std::int32_t>();
    visit_floating(x.dtype(), [&]<class T>(T) {
      const T* in = x.data<T>();
      T* o = out.data<T>();
      const auto m = static_cast<std::int64_t>(within.size());
      c.parallel_for(static_cast<std::int64_t>(starts.size()), std::max<std::int64_t>(1, 16384 / m),
                     [&](std::int64_t lo, std::int64_t hi) {
                       for (std::int64_t k = lo; k < hi; ++k) {
                         std::int64_t best = starts[k] + within[0];
                         for (std::int64_t j = 1; j < m; ++j) {
                           const std::int64_t at = starts[k] + within[j];
                           if (in[at] > in[best] || (std::isnan(in[at]) && !std::isnan(in[best]))) best = at;
                         }
                         o[k] = in[best];
                         w[k] = static_cast<std::int32_t>(best);
                       }
                     });
    });
    c.saved() = {where};
    return out;
  }

  // dx = g at each group's saved maximum, 0 elsewhere.
  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor& g = c.grad_output();
    const std::int32_t* where = c.saved().at(0).data<std::int32_t>();
    const Shape& x_shape = c.input_type(0).shape;  // x itself may be freed
    Tensor grad_x = Tensor::zeros(g.dtype(), x_shape);
    visit_floating(g.dtype(), [&]<class T>(T) {
      const T* gr = g.data<T>();
      T* d = grad_x.data<T>();
      c.parallel_for(g.numel(), 16384, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t k = lo; k < hi; ++k) d[where[k]] = gr[k];  // groups are disjoint: no two k share a slot
      });
    });
    return {grad_x};
  }
  bool backward_reads_input(std::size_t) const override { return false; }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const double n = static_cast<double>(numel(in[0].shape)), m = static_cast<double>(numel(out.shape));
    const double e = static_cast<double>(dtype_size(out.dtype));
    return {n, 0, n * e + m * (e + 4), n * e + m * (e + 4)};
  }

 private:
  ReducedAxes axes_;
};

// Appends a sample of x for every choice of axes, with and without keepdims.
void add_over_axes(std::vector<OpSample>& out, const GradcheckInput& x,
                   const std::vector<std::vector<std::int64_t>>& choices) {
  for (const auto& axes : choices)
    for (std::int64_t keep : {0, 1}) out.push_back(samples::sample({x}, {{"axes", axes}, {"keepdims", keep}}));
}

}  // namespace

Expr sum(Expr x, std::vector<std::int64_t> axes, bool keepdims) {
  return x.graph->add(std::make_shared<ReduceOp>(std::move(axes), keepdims, false), {x});
}
Expr mean(Expr x, std::vector<std::int64_t> axes, bool keepdims) {
  return x.graph->add(std::make_shared<ReduceOp>(std::move(axes), keepdims, true), {x});
}
Expr max(Expr x, std::vector<std::int64_t> axes, bool keepdims) {
  return x.graph->add(std::make_shared<MaxOp>(std::move(axes), keepdims), {x});
}

void register_reduce_ops(OpRegistry& r) {
  using namespace samples;
  const std::vector<std::vector<std::int64_t>> axes = {{}, {0}, {1}, {-1}, {0, 2}};
  const std::vector<std::int64_t> axis1 = {1};
  for (bool is_mean : {false, true}) {
    const char* name = is_mean ? "mean" : "sum";
    std::vector<OpSample> cases;
    add_over_axes(cases, uniform({2, 3, 4}), axes);
    add_over_axes(cases, uniform(is_mean ? Shape{3, 1, 2} : Shape{1, 5, 1}), {{}, {0}, {1}, {0, 2}});  // size-1 dims
    if (!is_mean) cases.push_back(sample({uniform({2, 0})}, {{"axes", axis1}}));  // an empty axis sums to 0
    r.add({name, is_mean ? "mean over axes (attributes axes, keepdims)" : "sum over axes (attributes axes, keepdims)",
           [is_mean, name](const Attributes& a) -> OpPtr {
             return std::make_shared<ReduceOp>(a.get_ints(name, "axes", {}), a.get_int(name, "keepdims", 0) != 0,
                                               is_mean);
           },
           cases,
           {shape_error({f64({2, 3})}, {{"axes", std::vector<std::int64_t>{2}}}), shape_error({i32({2, 3})})}});
  }
  std::vector<OpSample> max_cases;
  add_over_axes(max_cases, uniform({2, 3, 4}), axes);
  // Distinct values, at least 0.1 apart: finite differences never cross a tie.
  std::vector<double> v(24);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.1 * static_cast<double>((i * 7) % 24) - 1.2;
  max_cases.push_back(sample({values({2, 3, 4}, v)}, {{"axes", axis1}}));
  r.add({"max", "largest element over axes (attributes axes, keepdims); gradient to the first maximum",
         [](const Attributes& a) -> OpPtr {
           return std::make_shared<MaxOp>(a.get_ints("max", "axes", {}), a.get_int("max", "keepdims", 0) != 0);
         },
         max_cases,
         {shape_error({f64({2, 0})}, {{"axes", axis1}}), shape_error({i32({3})})}});
}

}  // namespace attograd
