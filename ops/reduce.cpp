#include "ops/reduce.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/executor.hpp"
#include "engine/registry.hpp"
#include "ops/broadcast_kernels.hpp"

namespace attograd {
namespace {

class ReduceOp final : public Op {
 public:
  ReduceOp(std::vector<std::int64_t> axes, bool keepdims, bool mean)
      : axes_(std::move(axes)), keepdims_(keepdims), mean_(mean) {}

  std::string name() const override { return mean_ ? "mean" : "sum"; }
  std::string describe() const override {
    return fmt::format("axes=[{}]{}", fmt::join(axes_, ","), keepdims_ ? " keepdims" : "");
  }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 1) throw ShapeError(fmt::format("[{}] takes 1 input, got {}", name(), in.size()));
    if (!is_floating(in[0].dtype)) throw ShapeError(fmt::format("[{}] needs a floating input", name()));
    const Shape kept = kept_shape(in[0].shape);
    return {in[0].dtype, keepdims_ ? kept : squeeze(in[0].shape)};
  }

  Tensor forward(OpContext& c) const override {
    const Tensor& x = c.input(0);
    Tensor s = sum_to_shape(x, kept_shape(x.shape()));
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
    const Tensor g = c.grad_output().reshaped(kept_shape(in_shape));
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
  bool reduced(std::size_t axis, std::size_t rank) const {
    if (axes_.empty()) return true;
    for (auto a : axes_)
      if (static_cast<std::size_t>(normalize_axis(a, rank, "sum")) == axis) return true;
    return false;
  }
  Shape kept_shape(const Shape& s) const {
    for (auto a : axes_) normalize_axis(a, s.size(), mean_ ? "mean" : "sum");
    Shape k = s;
    for (std::size_t i = 0; i < s.size(); ++i)
      if (reduced(i, s.size())) k[i] = 1;
    return k;
  }
  Shape squeeze(const Shape& s) const {
    Shape out;
    for (std::size_t i = 0; i < s.size(); ++i)
      if (!reduced(i, s.size())) out.push_back(s[i]);
    return out;
  }

  std::vector<std::int64_t> axes_;
  bool keepdims_;
  bool mean_;
};

}  // namespace

Expr sum(Expr x, std::vector<std::int64_t> axes, bool keepdims) {
  return x.graph->add(std::make_shared<ReduceOp>(std::move(axes), keepdims, false), {x});
}
Expr mean(Expr x, std::vector<std::int64_t> axes, bool keepdims) {
  return x.graph->add(std::make_shared<ReduceOp>(std::move(axes), keepdims, true), {x});
}

void register_reduce_ops(OpRegistry& r) {
  for (bool is_mean : {false, true}) {
    const char* name = is_mean ? "mean" : "sum";
    r.add({name, is_mean ? "mean over axes (attributes axes, keepdims)" : "sum over axes (attributes axes, keepdims)",
           [is_mean, name](const Attributes& a) -> OpPtr {
             return std::make_shared<ReduceOp>(a.get_ints(name, "axes", {}), a.get_int(name, "keepdims", 0) != 0,
                                               is_mean);
           },
           {}});
  }
}

}  // namespace attograd
