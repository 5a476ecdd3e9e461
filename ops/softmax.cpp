// Softmax, log-softmax and masked softmax: one hand-written loop per row.
// (A lazy xtensor softmax is thousands of times slower, and its keep_dims
// reductions read out of bounds in xtensor 0.24.3; see DESIGN.md.)
#include "ops/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>
#include <type_traits>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/mask.hpp"
#include "ops/vec_math.hpp"

namespace attograd {
namespace {

// Rows along `axis`: row r = (o, i) with o over the axes before, i over the
// axes after; its element j is at base(r) + j * inner.
struct Rows {
  std::int64_t outer = 1, n = 1, inner = 1;
  Rows(const Shape& s, int axis) : n(s[static_cast<std::size_t>(axis)]) {
    for (int d = 0; d < axis; ++d) outer *= s[static_cast<std::size_t>(d)];
    for (std::size_t d = static_cast<std::size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  }
  std::int64_t count() const { return outer * inner; }
  std::int64_t base(std::int64_t r) const { return (r / inner) * n * inner + r % inner; }
};

// Calls body(base, stride) for every row, rows in fixed blocks of about
// 16k elements: each row is written by exactly one block.
template <class F>
void for_each_row(const OpContext& ctx, const Rows& rows, F body) {
  const std::int64_t grain = std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(rows.n, 1));
  ctx.parallel_for(rows.count(), grain, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < hi; ++r) body(r, rows.base(r));
  });
}

// Where a mask broadcast to x's shape holds row r's element 0, and its step.
struct MaskRows {
  Shape shape, strides;  // x's shape; the mask's broadcast strides
  int axis;
  std::int64_t stride() const { return strides[static_cast<std::size_t>(axis)]; }
  std::int64_t base(std::int64_t r, const Rows& rows) const {
    std::int64_t offset = 0, i = r % rows.inner, o = r / rows.inner;
    for (std::size_t d = shape.size(); d-- > static_cast<std::size_t>(axis) + 1; i /= shape[d])
      offset += (i % shape[d]) * strides[d];
    for (std::size_t d = static_cast<std::size_t>(axis); d-- > 0; o /= shape[d]) offset += (o % shape[d]) * strides[d];
    return offset;
  }
};

// One row of n elements at stride s. keep (null: no mask) says which
// positions count. Subtracting the row max makes every exponent <= 0, so
// exp never overflows and the sum is >= 1 (the max contributes exp(0)).
// The same row when it is contiguous float (the attention case): the max,
// exp and sum run in SIMD lanes (ops/vec_math.hpp). False if not applicable.
inline bool softmax_row_simd(const float* x, float* y, std::int64_t n, std::int64_t s, const float* keep,
                             std::int64_t ks, bool log) {
  if (s != 1 || (keep && ks != 1)) return false;
  if (n == 0) return true;  // an empty axis: nothing to read (vec::max needs n >= 1) or write
  const float max = keep ? vec::max_masked(x, keep, n) : vec::max(x, n);
  if (keep && max == -std::numeric_limits<float>::infinity() && std::all_of(keep, keep + n, [](float k) {
        return k == 0.0f;
      })) {
    std::fill_n(y, n, 0.0f);  // every position masked
    return true;
  }
  const double sum = keep ? vec::exp_shifted_masked(x, keep, n, max, y) : vec::exp_shifted(x, n, max, log ? nullptr : y);
  if (log) {
    const float log_sum = static_cast<float>(std::log(sum));
    for (std::int64_t j = 0; j < n; ++j) y[j] = (x[j] - max) - log_sum;
  } else {
    const float inv = static_cast<float>(1.0 / sum);
    for (std::int64_t j = 0; j < n; ++j) y[j] *= inv;
  }
  return true;
}

template <class T>
void softmax_row(const T* x, T* y, std::int64_t n, std::int64_t s, const T* keep, std::int64_t ks, bool log) {
  if constexpr (std::is_same_v<T, float>)
    if (softmax_row_simd(x, y, n, s, keep, ks, log)) return;
  T max = -std::numeric_limits<T>::infinity();
  bool any = false;
  for (std::int64_t j = 0; j < n; ++j)
    if (!keep || keep[j * ks] != T(0)) {
      max = std::max(max, x[j * s]);
      any = true;
    }
  if (!any) {  // every position masked: probability 0 everywhere, not 0/0
    for (std::int64_t j = 0; j < n; ++j) y[j * s] = T(0);
    return;
  }
  double sum = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    const T e = (!keep || keep[j * ks] != T(0)) ? std::exp(x[j * s] - max) : T(0);
    if (!log) y[j * s] = e;  // log reads x again below: y may be x (a scaled row)
    sum += e;
  }
  if (log) {  // (x - max) first: max + log(sum) would round log(sum) away for |max| >> 1
    const T log_sum = static_cast<T>(std::log(sum));
    for (std::int64_t j = 0; j < n; ++j) y[j * s] = (x[j * s] - max) - log_sum;
  } else {
    const T inv = static_cast<T>(1.0 / sum);
    for (std::int64_t j = 0; j < n; ++j) y[j * s] *= inv;
  }
}

// Row r of x * scale, rounded to T, into y: what a scale node would have
// written. The row's softmax then runs in place on y.
template <class T>
void scale_row(const T* x, T* y, std::int64_t n, std::int64_t s, T scale) {
  for (std::int64_t j = 0; j < n; ++j) y[j * s] = x[j * s] * scale;
}

// Backward of one row. softmax: y_j = e_j / S gives dy_j/dx_k = y_j (d_jk - y_k),
// so dx_k = sum_j g_j y_j (d_jk - y_k) = y_k (g_k - sum_j g_j y_j). Masked
// positions have y = 0 and get 0. log_softmax: dy_j/dx_k = d_jk - softmax_k =
// d_jk - exp(y_k), so dx_k = g_k - exp(y_k) sum_j g_j. A scale s on the
// input multiplies dx by s (chain rule), after dx is rounded to T, as a scale
// node's backward would.
template <class T>
void softmax_row_backward(const T* y, const T* g, T* dx, std::int64_t n, std::int64_t s, bool log, T scale) {
  double acc = 0;
  for (std::int64_t j = 0; j < n; ++j) acc += log ? g[j * s] : g[j * s] * y[j * s];
  const T a = static_cast<T>(acc);
  if (log)
    for (std::int64_t j = 0; j < n; ++j) dx[j * s] = g[j * s] - std::exp(y[j * s]) * a;
  else
    for (std::int64_t j = 0; j < n; ++j) dx[j * s] = y[j * s] * (g[j * s] - a);
  if (scale != T(1))
    for (std::int64_t j = 0; j < n; ++j) dx[j * s] *= scale;
}

enum class Kind { softmax, log_softmax, masked_softmax };

class SoftmaxOp final : public Op {
 public:
  SoftmaxOp(Kind kind, std::int64_t axis, double scale) : kind_(kind), axis_(axis), scale_(scale) {
    if (!std::isfinite(scale)) throw Error(fmt::format("[{}] scale must be finite, got {}", name(), scale));
  }
  std::string name() const override {
    return kind_ == Kind::softmax ? "softmax" : kind_ == Kind::log_softmax ? "log_softmax" : "masked_softmax";
  }
  std::string describe() const override {
    return scale_ == 1 ? fmt::format("axis={}", axis_) : fmt::format("axis={} scale={}", axis_, scale_);
  }

  TensorType infer(std::span<const TensorType> in) const override {
    const std::size_t want = kind_ == Kind::masked_softmax ? 2 : 1;
    if (in.size() != want) throw ShapeError(fmt::format("[{}] takes {} inputs, got {}", name(), want, in.size()));
    if (!is_floating(in[0].dtype))
      throw ShapeError(fmt::format("[{}] needs a floating input, got {}", name(), dtype_name(in[0].dtype)));
    normalize_axis(axis_, in[0].shape.size(), name().c_str());
    if (want == 2) check_mask_type(name(), in[0], in[1]);
    return in[0];
  }

  Tensor forward(OpContext& c) const override {
    const Tensor& x = c.input(0);
    const int axis = normalize_axis(axis_, x.rank(), "softmax");
    const Rows rows(x.shape(), axis);
    const bool masked = kind_ == Kind::masked_softmax, log = kind_ == Kind::log_softmax;
    const MaskRows mask{x.shape(), masked ? broadcast_strides(c.input(1).shape(), x.shape()) : Shape{}, axis};
    Tensor y = Tensor::empty(x.dtype(), x.shape());
    visit_floating(x.dtype(), [&]<class T>(T) {
      const T *px = x.data<T>(), *pm = masked ? c.input(1).data<T>() : nullptr;
      T* py = y.data<T>();
      const T s = static_cast<T>(scale_);
      for_each_row(c, rows, [&](std::int64_t r, std::int64_t b) {
        const T* keep = pm ? pm + mask.base(r, rows) : nullptr;
        const T* row = px + b;
        if (scale_ != 1) {
          scale_row<T>(row, py + b, rows.n, rows.inner, s);
          row = py + b;
        }
        softmax_row<T>(row, py + b, rows.n, rows.inner, keep, pm ? mask.stride() : 0, log);
      });
    });
    return y;
  }

  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor &y = c.output(), &g = c.grad_output();
    const Rows rows(y.shape(), normalize_axis(axis_, y.rank(), "softmax"));
    Tensor dx = Tensor::empty(y.dtype(), y.shape());
    visit_floating(y.dtype(), [&]<class T>(T) {
      const T *py = y.data<T>(), *pg = g.data<T>();
      T* pd = dx.data<T>();
      for_each_row(c, rows, [&](std::int64_t, std::int64_t b) {
        softmax_row_backward<T>(py + b, pg + b, pd + b, rows.n, rows.inner, kind_ == Kind::log_softmax,
                                static_cast<T>(scale_));
      });
    });
    if (kind_ == Kind::masked_softmax) return {dx, Tensor()};
    return {dx};
  }
  bool differentiable(std::size_t input) const override { return input == 0; }
  bool backward_reads_input(std::size_t) const override { return false; }

  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const double n = double(numel(out.shape)), e = double(dtype_size(out.dtype));
    const double mask = in.size() > 1 ? double(numel(in[1].shape)) * e : 0;
    return {5 * n, 4 * n, 2 * n * e + mask, 3 * n * e};
  }

 private:
  Kind kind_;
  std::int64_t axis_;
  double scale_;  // on the input: the op runs on x * scale
};

Expr make(Kind kind, std::int64_t axis, double scale, const std::vector<Expr>& inputs) {
  return inputs[0].graph->add(std::make_shared<SoftmaxOp>(kind, axis, scale), inputs);
}

}  // namespace

Expr softmax(Expr x, std::int64_t axis, double scale) { return make(Kind::softmax, axis, scale, {x}); }
Expr log_softmax(Expr x, std::int64_t axis, double scale) { return make(Kind::log_softmax, axis, scale, {x}); }
Expr masked_softmax(Expr x, Expr mask, std::int64_t axis, double scale) {
  return make(Kind::masked_softmax, axis, scale, {x, mask});
}

void register_softmax_ops(OpRegistry& r) {
  using namespace samples;
  // softmax and log_softmax: every axis of vectors, matrices, a rank-3 stack
  // and size-1 dims, and an empty axis.
  std::vector<OpSample> every_axis = {sample({uniform({2, 3, 5})}), sample({uniform({2, 0})})};
  for (const Shape& s : {Shape{5}, Shape{2, 3}, Shape{2, 3, 4}, Shape{1, 1}, Shape{3, 1}})
    for (std::int64_t axis = -1; axis >= -static_cast<std::int64_t>(s.size()); --axis)
      every_axis.push_back(sample({uniform(s, -3, 3)}, {{"axis", axis}}));
  // A scale on the input (attention's 1 / sqrt(K)), on the last and a strided axis.
  every_axis.push_back(sample({uniform({2, 3, 5}, -3, 3)}, {{"scale", 0.35}}));
  every_axis.push_back(sample({uniform({2, 3, 4})}, {{"axis", std::int64_t{1}}, {"scale", -2.5}}));
  // Masks that broadcast, one with a fully masked row (its gradient is 0), and a strided axis.
  const std::vector<OpSample> masked = {
      sample({uniform({2, 3, 5}), mask({1, 1, 5}, {1, 0, 1, 1, 0})}),
      sample({uniform({2, 3, 4}, -3, 3), mask({4}, {1, 0, 1, 1})}),
      sample({uniform({2, 2, 3}), mask({2, 1, 3}, {1, 1, 0, 0, 0, 0})}),
      sample({uniform({2, 3, 4}), mask({1, 3, 1}, {0, 1, 1})}, {{"axis", std::int64_t{1}}}),
      sample({uniform({2, 3, 5}, -3, 3), mask({1, 1, 5}, {1, 0, 1, 1, 0})}, {{"scale", 0.35}}),
      sample({uniform({2, 2, 3}), mask({2, 1, 3}, {1, 1, 0, 0, 0, 0})}, {{"scale", 3.0}})};
  const std::tuple<Kind, const char*, std::vector<OpShapeErrorSample>> kinds[] = {
      {Kind::softmax, "softmax of x * scale over attribute axis (defaults: axis -1, scale 1)",
       {shape_error({f64({2, 3, 4})}, {{"axis", std::int64_t{3}}}), shape_error({i32({2, 3})})}},
      {Kind::log_softmax, "log of softmax of x * scale over attribute axis (defaults -1, 1), stable",
       {shape_error({f64({2, 3, 4})}, {{"axis", std::int64_t{-4}}}), shape_error({i32({2, 3})})}},
      {Kind::masked_softmax,
       "softmax of x * scale over attribute axis where mask != 0 (defaults -1, 1); fully masked rows give 0",
       {shape_error({f64({2, 3, 4}), f64({3, 3})}), shape_error({f64({2, 3, 4}), f32({4})})}}};
  for (const auto& [kind, summary, errors] : kinds) {
    const std::string name = SoftmaxOp(kind, -1, 1.0).name();
    r.add({name,
           summary,
           [kind = kind, name](const Attributes& a) -> OpPtr {
             return std::make_shared<SoftmaxOp>(kind, a.get_int(name, "axis", -1), a.get_double(name, "scale", 1.0));
           },
           kind == Kind::masked_softmax ? masked : every_axis,
           errors});
  }
}

}  // namespace attograd
